// Reference encoder: reads a JSON array of strings on stdin, prints a JSON array of
// id arrays (with the tokenizer's special tokens, i.e. BOS), using @lenml/tokenizers
// (a port of the transformers.js tokenizers).
// Usage: node npm_encode.js NPM_DIR MODEL_DIR < texts.json
"use strict";
const fs = require("fs");
const path = require("path");
const [npmDir, modelDir] = process.argv.slice(2);
const { TokenizerLoader } = require(path.resolve(npmDir, "node_modules/@lenml/tokenizers"));
const read = (f) => JSON.parse(fs.readFileSync(path.join(modelDir, f), "utf8"));
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: read("tokenizer.json"),
  tokenizerConfig: read("tokenizer_config.json"),
});
const texts = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(texts.map((t) => Array.from(tok.encode(t)))));
