// bench_tokenizer.js - the same measurement as bench_tokenizer.c, with the
// reference @lenml/tokenizers in Node:
//   node bench_tokenizer.js NPM_DIR TEXT_FILE [NAME ...]
// Load time includes reading and JSON.parse of both files, like ours. CPU times
// come from process.cpuUsage() (all of Node's threads, GC included).
"use strict";
const fs = require("fs");
const path = require("path");
const [npmDir, textPath, ...names] = process.argv.slice(2);
const mods = path.join(path.resolve(npmDir), "node_modules");
const { TokenizerLoader } = require(path.join(mods, "@lenml/tokenizers"));
const text = fs.readFileSync(textPath, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const docs = text.split(/(?<=\n\n)/);
for (const name of names.length ? names : ["llama2", "llama3", "qwen3", "gemma3"]) {
  const dir = path.join(mods, "@lenml", "tokenizer-" + name, "models");
  const load = [], loadCpu = [];
  const cpuMs = (u) => (u.user + u.system) / 1e3;
  let tok;
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    tok = TokenizerLoader.fromPreTrained({
      tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
      tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
    });
    load.push(Number(process.hrtime.bigint() - t0) / 1e6);
    loadCpu.push(cpuMs(process.cpuUsage(c0)));
  }
  const enc = [], encCpu = [];
  let tokens = 0;
  for (let r = 0; r < 2; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    tokens = 0;
    for (const d of docs) tokens += tok.encode(d, { add_special_tokens: false }).length;
    enc.push(Number(process.hrtime.bigint() - t0) / 1e9);
    encCpu.push(cpuMs(process.cpuUsage(c0)) / 1e3);
  }
  const best = Math.min(...enc), bestCpu = Math.min(...encCpu);
  console.log(JSON.stringify({ impl: "lenml", tokenizer: name, load_ms: load.map((x) => +x.toFixed(1)),
    load_cpu_ms: loadCpu.map((x) => +x.toFixed(1)), encode_s: enc.map((x) => +x.toFixed(3)), tokens,
    mb_per_s: +(bytes / 1e6 / best).toFixed(2), cpu_mb_per_s: +(bytes / 1e6 / bestCpu).toFixed(2) }));
}
