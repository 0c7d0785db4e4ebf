// The reference engine's speed on the same model and the same work as
// `sphere_aae bench`: llama.cpp through the node-llama-cpp package (npm; its
// prebuilt CPU libraries pick their kernels for the CPU at load time).
//
//   node llama_cpp_bench.mjs MODEL.gguf --prompt-len N --gen-len N --threads T
//        [--flash-attention on|off|auto]
//
// Prints one JSON object: prefill_tokens_per_s (a prompt of N pseudo-random
// ids evaluated in one batch, the last one with its logits and a greedy pick
// of the next),
// decode_tokens_per_s (N steps after it, each one token evaluated and the next
// picked greedily from its logits), time_to_first_token_s, the CPU features
// of the kernels loaded. --flash-attention on|off|auto (default auto, as the
// package sets it). Set NODE_PATH to the node_modules folder that holds
// node-llama-cpp (bench/runtime/run_bench.py --reference does).
import { createRequire } from "node:module";
import path from "node:path";
import process from "node:process";
import fs from "node:fs";

const require = createRequire(path.join(process.env.NODE_PATH || process.cwd(), "x.js"));

function arg(name, dflt) {
    const i = process.argv.indexOf(name);
    if (i < 0) return dflt;
    const v = Number(process.argv[i + 1]);
    if (!Number.isInteger(v) || v <= 0) {
        console.error(`${name}: expected a positive integer, got ${process.argv[i + 1]}`);
        process.exit(2);
    }
    return v;
}

const modelPath = process.argv[2];
if (!modelPath || modelPath.startsWith("--")) {
    console.error("usage: node llama_cpp_bench.mjs MODEL.gguf --prompt-len N --gen-len N --threads T");
    process.exit(2);
}
const promptLen = arg("--prompt-len", 128);
const genLen = arg("--gen-len", 64);
const threads = arg("--threads", 1);
const fa = process.argv.indexOf("--flash-attention");
const flashAttention = fa < 0 ? "auto" : { on: true, off: false, auto: "auto" }[process.argv[fa + 1]];
if (flashAttention === undefined) {
    console.error("--flash-attention: expected on, off or auto");
    process.exit(2);
}

const entry = require.resolve("node-llama-cpp");
const { getLlama, LlamaLogLevel } = await import(entry);
let pkgDir = path.dirname(entry);
while (!fs.existsSync(path.join(pkgDir, "package.json"))) pkgDir = path.dirname(pkgDir);
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
const llama = await getLlama({
    gpu: false, build: "never", skipDownload: true, maxThreads: threads,
    logLevel: LlamaLogLevel.error,
});
const model = await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: true });
const context = await model.createContext({
    contextSize: 1 << Math.ceil(Math.log2(promptLen + genLen + 1)),
    batchSize: promptLen, threads: { ideal: threads, min: threads }, flashAttention,
});
const seq = context.getSequence();

// random ids above the byte pieces, fixed seed (xorshift32)
let s = 12345;
const prompt = [];
for (let i = 0; i < promptLen; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    prompt.push(259 + (s % (model.fileInfo.metadata.tokenizer.ggml.tokens.length - 259)));
}

// one batch: the tokens, the last one with its logits and a greedy pick of the next
const evaluate = async (tokens) => {
    const items = tokens.slice(0, -1);
    items.push([tokens[tokens.length - 1], { generateNext: { token: true } }]);
    return (await seq.controlledEvaluate(items))[tokens.length - 1].next.token;
};
const t0 = process.hrtime.bigint();
let token = await evaluate(prompt);
const tFirst = process.hrtime.bigint();
for (let i = 0; i < genLen; i++) token = await evaluate([token]);
const t2 = process.hrtime.bigint();
const sec = (a, b) => Number(b - a) / 1e9;
console.log(JSON.stringify({
    engine: "llama.cpp (node-llama-cpp " + version + ")",
    system_info: llama.systemInfo,
    threads,
    flash_attention: flashAttention,
    prompt_len: promptLen,
    gen_len: genLen,
    prefill_tokens_per_s: promptLen / sec(t0, tFirst),
    decode_tokens_per_s: genLen / sec(tFirst, t2),
    time_to_first_token_s: sec(t0, tFirst),
}));
await context.dispose();
await model.dispose();
await llama.dispose();
