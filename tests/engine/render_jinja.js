// render_jinja.js - reference renderer: the families' own Jinja chat templates
// (jinja_templates.js) through @lenml/tokenizers' apply_chat_template (a
// JavaScript Jinja engine).
// stdin: a JSON array of {"template", "bos", "eos", "messages"}; stdout: a JSON
// array of rendered strings (or {"error": message}).
// usage: node render_jinja.js NODE_MODULES/@lenml
"use strict";
const fs = require("fs");
const path = require("path");
const { TokenizerLoader } = require("@lenml/tokenizers");
const { templates } = require("./jinja_templates.js");

const MODELS = process.argv[2];
const TEMPLATES = templates(MODELS);

// Any tokenizer serves: only its Jinja renderer is used.
const dir = path.join(MODELS, "tokenizer-llama2", "models");
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"))),
  tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"))),
});

const cases = JSON.parse(fs.readFileSync(0, "utf8"));
const out = cases.map((c) => {
  try {
    return tok.apply_chat_template(c.messages, {
      tokenize: false,
      add_generation_prompt: true,
      chat_template: TEMPLATES[c.template],
      bos_token: c.bos,
      eos_token: c.eos,
    });
  } catch (e) {
    return { error: String(e) };
  }
});
process.stdout.write(JSON.stringify(out));
