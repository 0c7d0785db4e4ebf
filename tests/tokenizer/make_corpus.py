#!/usr/bin/python3
"""Writes tests/tokenizer/corpus.json: the strings the tokenizer is checked on
against @lenml/tokenizers. Deterministic; rerun after editing and commit both.

  make_corpus.py [OUT.json]
"""
import json
import os
import random
import sys
import unicodedata

BASE = [
    "", " ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n ", "\t\t\n  \r", "\u3000", "\u00a0", "\ufeff",
    "\u2028", "\u0085", "\u200b", "Hello", " Hello", "Hello ", "  Hello  ", "Hello world", "Hello  world",
    "Hello\tworld", "Hello\nworld", "Hello\r\nworld", "Hello\n\n\nworld", "hello world!", "HELLO WORLD",
    "The quick brown fox jumps over the lazy dog.", "  leading spaces", "trailing spaces   ",
    "\tleading tab", "trailing tab\t", "\nleading newline", "trailing newline\n", "a\n", "\na",
    "multiple     spaces     between", "mixed \t \n whitespace \r\n here",
    # digits
    "0", "1", "12", "123", "1234", "12345", "123456789", "3.14159", "1,000,000", "2024-05-17", "10:30pm",
    "$1,299.99", "-42", "+1 (555) 010-9999", "0x1F600", "1e-9", "007", "v1.2.3", "٣٤٥", "१२३", "一二三", "Ⅻ",
    "½ ¾", "x²+y²=z²",
    # contractions
    "it's", "It's", "IT'S", "don't", "DON'T", "Don'T", "we're", "WE'RE", "I've", "I'VE", "I'm", "I'M",
    "you'll", "YOU'LL", "he'd", "HE'D", "'s", "'S", "'tis", "rock 'n' roll", "O'Neil's", "can't won't shan't",
    "they'Re we'Ve I'lL", "dog's dogs' dogs's", "it’s curly", "ſ's",
    # code
    "def foo(x):\n    return x + 1\n", "int main(void) { return 0; }", "for (int i = 0; i < n; i++) {}",
    "if x == 1:\n\tprint('one')\nelse:\n\tprint(\"other\")", "const f = (a, b) => a ?? b;",
    "<div class=\"x\">hi</div>", "SELECT * FROM users WHERE id = 42;", "#include <stdio.h>",
    "    indented\n        more\n", "a+=b;c-=d;e*=f", "x = [1, 2, 3]  # comment", "{\"key\": [1, 2.5, null]}",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }", "~/.bashrc && echo $HOME | grep -v '^#'",
    "__init__.py", "snake_case_name CamelCaseName kebab-case-name", "a\\b\\c", "/* comment */ //line",
    # URLs and mail
    "https://example.com/path?query=1&x=y#frag", "http://localhost:8080/", "www.example.org",
    "user@example.com", "ftp://files.example.net/a%20b.txt", "Visit https://huggingface.co/docs now!",
    # punctuation
    "Hello, world!", "What?!", "Wait...", "...", "!!!", "??", "(parens)", "[brackets]", "{braces}",
    "\"quotes\"", "'single'", "«guillemets»", "—em dash—", "–en–", "a/b", "a|b", "#hashtag", "@mention",
    "100%", "&amp;", "<>", "***bold***", "~~~", "¿Qué?", "¡Hola!", "。、", "！？",
    # emoji
    "😀", "😀😀😀", "Hello 😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷🇯🇵", "👩🏾‍💻 coding",
    "🤖 robot", "✨ sparkles ✨", "☕", "🧑‍🤝‍🧑", "1️⃣", "emoji😀in😀text",
    # CJK
    "你好，世界", "我爱自然语言处理。", "中文 English 混合", "日本語のテキストです。", "ひらがな カタカナ",
    "한국어 텍스트", "안녕하세요", "漢字", "東京都", "さようなら", "这是一个测试句子，包含标点符号！",
    # Arabic, Hebrew
    "مرحبا بالعالم", "اللغة العربية", "السلام عليكم ورحمة الله", "שלום עולם", "عربي English مختلط",
    # Indic, Thai, others
    "नमस्ते दुनिया", "हिन्दी भाषा", "क्षत्रिय", "ภาษาไทย", "สวัสดีครับ", "ผมรักคุณ",
    "Привет, мир!", "Ελληνικά", "Ünïcödé", "Ærøskøbing", "straße", "İstanbul", "ıi", "Ǆǅǆ", "ﬁ ligature",
    "ｆｕｌｌｗｉｄｔｈ", "Ⓐⓑⓒ", "Zalgo: Z̵̡̛a̴l̷g̸o̶", "e\u0301", "\u0301", "a\u0301\u0302\u0303",
    "\u1100\u1161\u11a8", "\u00c5 vs A\u030a", "\u212b",
    # special-token strings inside text
    "<s>", "</s>", "<unk>", "<s>Hello</s>", "Hello <s> world", "a</s>b", "<|begin_of_text|>",
    "<|begin_of_text|>Hello<|end_of_text|>", "<|im_start|>user\nHi<|im_end|>", "<|endoftext|>",
    "<bos>", "<eos>", "<start_of_turn>user\nhi<end_of_turn>", "<pad><pad>", "<mask>", "< s >", "<<s>>",
    "<|im_start|> spaced <|im_end|>", "text<|endoftext|>text", "<0x41>", "<0x0A>", "▁", "▁▁hello",
    "Ġhello", "<|reserved_special_token_5|>", "<start_of_image>", "<unused0>", "[MASK]", "<|fim_prefix|>",
    # mixed
    "Mix of 中文, English, العربية and emoji 🎉!", "Price: €100 / £80 / ¥1000", "Temp: 25°C",
    "a\u00ad\u00adb", "zero\u200dwidth\u200cjoiners", "tab\tseparated\tvalues", "line1\nline2\r\nline3",
    "\x00", "\x01\x02", "\x7f", "control\x1bchars",
    # a token of Gemma's holds ">▁</": word chunking must not cut there
    "a > </b>", "<p> </p>", "x >  </y", "1 > 0", ">>> </<<<",
]

WORDS = ["the", "of", "and", "token", "model", "phone", "edge", "fast", "weights", "ids", "Ünïcödé",
         "数据", "模型", "مرحبا", "नमस्ते", "สวัสดี", "😀", "👩🏾‍💻", "123", "4567", "it's", "DON'T",
         "https://a.b/c", "x+y", "foo_bar", "  ", "\t", "\n", "\r\n", "...", "<s>", "<|im_end|>", "<eos>"]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus.json")
    rng = random.Random(20240517)
    corpus = list(BASE)
    # NFD forms of accented text
    for s in ["café", "naïve résumé", "Ångström", "Việt Nam", "Dvořák", "Ελληνικά", "한국어", "Ünïcödé",
              "crème brûlée", "façade", "jalapeño", "São Paulo"]:
        corpus.append(unicodedata.normalize("NFD", s))
        corpus.append(unicodedata.normalize("NFKD", s))
    # whitespace runs of each kind and length
    for ws in [" ", "\t", "\n", "\r\n", " \n"]:
        for n in [1, 2, 3, 5, 8, 17]:
            corpus.append("x" + ws * n + "y")
            corpus.append(ws * n + "z")
    # digit runs
    for n in range(1, 13):
        corpus.append("".join(str((i * 7 + n) % 10) for i in range(n)))
    # random mixtures
    while len(corpus) < 420:
        k = rng.randint(1, 12)
        corpus.append("".join(rng.choice(WORDS) + rng.choice(["", " ", " ", "  ", "\n", ", "])
                              for _ in range(k)))
    with open(out, "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=True, indent=0)
        f.write("\n")
    print("wrote %d strings to %s" % (len(corpus), out))


if __name__ == "__main__":
    main()
