#!/usr/bin/python3
"""Usage errors of `sphere_aae`: exit code 2 and a message that names the mistake and,
when one is close, the command or option that was meant.

  test_usage_errors.py SPHERE_AAE
"""
import re
import subprocess
import sys

CASES = [
    (["tokenise"], r"unknown command 'tokenise'; did you mean 'tokenize'\?"),
    (["convert"], r"unknown command 'convert'; did you mean 'convert_weight'\?"),
    (["frobnicate"], r"unknown command 'frobnicate'\n"),
    (["tokenize", "x", "--txt", "hi"], r"unknown option '--txt'; did you mean '--text'\?"),
    (["tokenize", "x", "--text"], r"--text needs a value"),
    (["tokenize", "x", "--bogus"], r"unknown option '--bogus' \(see sphere_aae tokenize --help\)"),
    (["convert_weight", "x", "--thread", "2"], r"unknown option '--thread'; did you mean '--threads'\?"),
    (["convert_weight", "x", "-o"], r"-o: missing value"),
    (["gen_config", "x", "--context-window", "8"],
     r"unknown option '--context-window'; did you mean '--context-window-size'\?"),
    (["gen_config", "x", "--conv-template"], r"--conv-template: missing value"),
    (["package", "--package_config", "c.json"],
     r"unknown argument '--package_config'; did you mean '--package-config'\?"),
    (["package", "--frobnicate"], r"unknown argument '--frobnicate' \(see"),
]


def main():
    cli = sys.argv[1]
    passed = failed = 0
    for args, pattern in CASES:
        r = subprocess.run([cli] + args, capture_output=True, text=True, timeout=60)
        ok = r.returncode == 2 and re.search(pattern, r.stderr)
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL %s: exit %d, stderr %r, want %r" % (" ".join(args), r.returncode, r.stderr[:300], pattern))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
