// Loads each generated checkpoint's tokenizer.json / tokenizer_config.json with
// @lenml/tokenizers (the transformers.js algorithm) and prints, per directory, the
// ids of a sample text and whether decoding them gives the text back.
// Usage: node tokenizer_roundtrip.mjs NPM_DIR HF_DIR MODEL_DIR...
import fs from "fs";
import path from "path";
import { pathToFileURL } from "url";

const [npmDir, hfDir, ...dirs] = process.argv.slice(2);
const entry = path.join(npmDir, "node_modules/@lenml/tokenizers/dist/main.mjs");
const { TokenizerLoader } = await import(pathToFileURL(entry).href);
const text = "Hello world, the quick brown fox \u{1F600} na\u00efve 12345\n\tend";
const out = {};
for (const d of dirs) {
  const read = (f) => JSON.parse(fs.readFileSync(path.join(hfDir, d, f), "utf8"));
  const tok = TokenizerLoader.fromPreTrained({
    tokenizerJSON: read("tokenizer.json"), tokenizerConfig: read("tokenizer_config.json"),
  });
  const ids = tok.encode(text, { add_special_tokens: false });
  out[d] = { ids, decoded: tok.decode(ids) };
}
console.log(JSON.stringify({ text, out }));
