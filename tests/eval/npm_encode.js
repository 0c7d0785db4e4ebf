// Reference encoder: reads a JSON array of strings on stdin and prints a JSON array
// of id arrays, using @lenml/tokenizers (a port of the transformers.js tokenizers).
// With --no-special the texts are encoded without special tokens (no BOS).
// Usage: node npm_encode.js NPM_DIR MODEL_DIR [--no-special] < texts.json
"use strict";
const fs = require("fs");
const path = require("path");
const [npmDir, modelDir, flag] = process.argv.slice(2);
const { TokenizerLoader } = require(path.resolve(npmDir, "node_modules/@lenml/tokenizers"));
const read = (f) => JSON.parse(fs.readFileSync(path.join(modelDir, f), "utf8"));
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: read("tokenizer.json"),
  tokenizerConfig: read("tokenizer_config.json"),
});
const special = flag !== "--no-special";
const texts = JSON.parse(fs.readFileSync(0, "utf8"));
const ids = texts.map((t) => Array.from(tok.encode(t, { add_special_tokens: special })));
process.stdout.write(JSON.stringify(ids));
