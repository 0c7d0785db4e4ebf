#!/usr/bin/python3
"""Checks the Swift package (bindings/ios/SphereAAE) against include/sphere_aae.h,
since no Swift compiler is available here.

From the header: every AAE_API prototype (return type, parameter types), the
callback typedefs, the struct typedefs with their fields, the opaque handle types,
the enum constants and #defines. From the Swift sources (comments and string
contents removed): every call of an aae_* function, every C constant, every field
of a C struct that is read or written, every C callback passed.

A call fails the check when the function is not in the header, the argument count
differs, or an argument's type (as far as the Swift code declares it) does not fit
the C parameter: `&x` or nil for a non-pointer, a string literal or a C string
for a non-`const char *`, an OpaquePointer for anything but an opaque handle, `&x`
whose Swift type is not the pointee, an aae_status where something else is
expected, a callback whose Swift function has another arity, parameter types or
return type than the typedef. String(cString: f(...)) needs f to return
`const char *`. Package.swift and the module map must name the folders and the
header that `sphere_aae package` writes (src/tools/package/pkg_bindings.h).

usage: check_swift_c_api.py HEADER SWIFT_PACKAGE_DIR
Prints one line per problem and "N passed, N failed"; exits 1 on a problem.
"""
import os
import re
import sys

C_TO_SWIFT = {  # C parameter / field type -> the Swift type it imports as
    "const char *": "UnsafePointer<CChar>?",
    "char *": "UnsafeMutablePointer<CChar>?",
    "void *": "UnsafeMutableRawPointer?",
    "const void *": "UnsafeRawPointer?",
    "size_t": "Int",
    "int": "Int32",
    "int32_t": "Int32",
    "int64_t": "Int64",
    "uint32_t": "UInt32",
    "uint64_t": "UInt64",
    "float": "Float",
    "double": "Double",
    "void": "Void",
}
INT_TYPES = {"int", "int32_t", "int64_t", "uint32_t", "uint64_t", "size_t"}


def strip_c_comments(s):
    s = re.sub(r"/\*.*?\*/", " ", s, flags=re.S)
    return re.sub(r"//[^\n]*", " ", s)


def norm_type(t):
    t = re.sub(r"\s+", " ", t.strip())
    t = re.sub(r"\s*\*\s*", " *", t).replace("* *", "**").replace(" *", " *")
    t = re.sub(r"\*\s+\*", "**", t)
    return t.replace("const struct ", "const ").replace("struct ", "")


def split_param(p):
    """'const char *request_json' -> ('const char *', 'request_json')."""
    p = norm_type(p)
    m = re.match(r"^(.*?)([A-Za-z_]\w*)$", p)
    if not m or m.group(1).strip() in ("", "const"):
        return p, ""
    return norm_type(m.group(1)), m.group(2)


def params_of(text):
    text = text.strip()
    if text in ("", "void"):
        return []
    return [split_param(p) for p in text.split(",")]


def parse_header(path):
    src = strip_c_comments(open(path, encoding="utf-8").read())
    flat = re.sub(r"\s+", " ", src)
    h = {"funcs": {}, "callbacks": {}, "structs": {}, "opaque": set(), "consts": set(), "enums": set()}
    for m in re.finditer(r"AAE_API ([^;()]+?)\b(aae_\w+)\s*\(([^()]*)\)\s*;", flat):
        h["funcs"][m.group(2)] = (norm_type(m.group(1)), params_of(m.group(3)))
    for m in re.finditer(r"typedef ([^;()]+?)\(\s*\*\s*(aae_\w+)\s*\)\s*\(([^()]*)\)\s*;", flat):
        h["callbacks"][m.group(2)] = (norm_type(m.group(1)), params_of(m.group(3)))
    for m in re.finditer(r"typedef struct (aae_\w+) (aae_\w+);", flat):
        h["opaque"].add(m.group(2))
    for m in re.finditer(r"typedef struct (aae_\w+) \{([^{}]*)\} (aae_\w+);", flat):
        fields = {}
        for decl in m.group(2).split(";"):
            decl = decl.strip()
            if not decl:
                continue
            first, *rest = [x.strip() for x in decl.split(",")]
            t, name = split_param(first)
            fields[name] = t
            for r in rest:
                fields[r.lstrip("*").strip()] = t
        h["structs"][m.group(3)] = fields
        h["opaque"].discard(m.group(3))
    for m in re.finditer(r"typedef enum (aae_\w+) \{([^{}]*)\} (aae_\w+);", flat):
        h["enums"].add(m.group(3))
        for c in re.finditer(r"\b(AAE_\w+)\s*=", m.group(2)):
            h["consts"].add(c.group(1))
    for m in re.finditer(r"#define (AAE_\w+)", src):
        h["consts"].add(m.group(1))
    return h


def strip_swift(s):
    """Removes comments; string literals become "" (their text cannot be a call)."""
    out, i, n = [], 0, len(s)
    while i < n:
        if s.startswith("//", i):
            j = s.find("\n", i)
            i = n if j < 0 else j
        elif s.startswith("/*", i):
            j = s.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif s[i] == '"':
            j, depth = i + 1, 0
            while j < n and (s[j] != '"' or depth):
                if s[j] == "\\" and j + 1 < n and s[j + 1] == "(":
                    depth += 1
                    j += 2
                    continue
                if depth and s[j] == ")":
                    depth -= 1
                j += 2 if s[j] == "\\" else 1
            out.append('""')
            i = j + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def args_at(s, start):
    """Splits the argument list starting after '(' at s[start-1]; returns (args, end)."""
    depth, i, cur, args = 0, start, [], []
    while i < len(s):
        c = s[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                a = "".join(cur).strip()
                if a or args:
                    args.append(a)
                return args, i
            depth -= 1
        elif c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return args, i


def swift_decls(src, h):
    """Names -> Swift types, from declarations the code states."""
    types = {}
    for m in re.finditer(r"\b(?:let|var)\s+(\w+)\s*:\s*([\w<>?\[\]. ]+?)\s*(?:=|\n|$|\{)", src):
        types[m.group(1)] = m.group(2).strip()
    for m in re.finditer(r"\(\s*(?:_\s+)?(\w+)\s*:\s*(OpaquePointer\??)\s*\)", src):
        types[m.group(1)] = "OpaquePointer"
    for m in re.finditer(r"\b(?:_\s+)?(\w+)\s*:\s*(OpaquePointer)\b", src):
        types.setdefault(m.group(1), "OpaquePointer")
    for m in re.finditer(r"\b(?:let|var)\s+(\w+)\s*=\s*(aae_\w+)\s*\(", src):
        name, fn = m.group(1), m.group(2)
        if fn in h["structs"]:
            types[name] = fn
        elif fn in h["funcs"]:
            types[name] = h["funcs"][fn][0]
    for m in re.finditer(r"\b(?:let|var)\s+(\w+)\s*=\s*[^\n]*\.toOpaque\(\)", src):
        types[m.group(1)] = "UnsafeMutableRawPointer"
    types["handle"] = types.get("handle", "OpaquePointer")
    return types


def swift_funcs(src):
    """Top-level Swift functions: name -> ([param types], return type)."""
    out = {}
    for m in re.finditer(r"\bfunc\s+(\w+)\s*\(", src):
        args, end = args_at(src, m.end())
        ptypes = [a.split(":", 1)[1].strip() if ":" in a else "?" for a in args]
        rest = src[end + 1:end + 80]
        r = re.match(r"\s*->\s*([\w<>?]+)", rest)
        out[m.group(1)] = (ptypes, r.group(1) if r else "Void")
    return out


def arg_problem(arg, ctype, h, types, funcs):
    """None if arg fits the C parameter type ctype, else why not."""
    is_ptr = "*" in ctype or ctype in h["callbacks"]
    if arg == "nil":
        return None if is_ptr else f"nil for the non-pointer {ctype}"
    if arg.startswith("&"):
        if "*" not in ctype:
            return f"{arg} (a pointer) for {ctype}"
        name = arg[1:].strip()
        pointee = norm_type(ctype.replace("const ", "", 1)[:ctype.replace("const ", "", 1).rfind("*")])
        st = types.get(name)
        if st is None:
            return None
        if st.startswith("OpaquePointer"):
            ok = pointee.endswith("*") and pointee.rstrip(" *") in h["opaque"]
            return None if ok else f"{arg} (OpaquePointer?) for {ctype}: expected a handle out-pointer"
        if st in h["structs"] or st in h["enums"]:
            return None if st == pointee else f"{arg} ({st}) for {ctype}"
        want = C_TO_SWIFT.get(pointee)
        return None if want is None or want.rstrip("?") == st.rstrip("?") else f"{arg} ({st}) for {ctype}"
    if arg == '""' or arg == "$0":
        return None if ctype == "const char *" else f"a C string for {ctype}"
    if re.fullmatch(r"-?\d+", arg):
        return None if ctype in INT_TYPES or ctype in h["enums"] else f"an integer literal for {ctype}"
    name = arg.split(".")[-1] if re.fullmatch(r"[\w.]+", arg) else None
    if name is None:
        return None
    if ctype in h["callbacks"]:
        if name not in funcs:
            return f"{arg} is not a Swift function defined in the package (callback {ctype})"
        cret, cparams = h["callbacks"][ctype]
        ptypes, ret = funcs[name]
        if len(ptypes) != len(cparams):
            return f"callback {name} takes {len(ptypes)} parameters; {ctype} has {len(cparams)}"
        for k, ((pt, pn), st) in enumerate(zip(cparams, ptypes)):
            want = pt if pt in h["enums"] else C_TO_SWIFT.get(pt, pt)
            if st.rstrip("?") != want.rstrip("?"):
                return f"callback {name} parameter {k + 1} is {st}; {ctype} passes {pt} ({want})"
        want_ret = C_TO_SWIFT.get(cret, cret)
        return None if ret == want_ret else f"callback {name} returns {ret}; {ctype} returns {cret} ({want_ret})"
    st = types.get(name)
    if st is None:
        if name in funcs or name in h["funcs"]:
            return f"function {name} passed for {ctype}"
        return None
    if st.startswith("OpaquePointer"):
        ok = ctype.endswith("*") and norm_type(ctype.replace("const ", "")).rstrip(" *") in h["opaque"] \
            and ctype.count("*") == 1
        return None if ok else f"{arg} (OpaquePointer) for {ctype}: expected an opaque handle"
    if st in h["enums"] or st in h["structs"]:
        return None if st == ctype else f"{arg} ({st}) for {ctype}"
    if st == "String" or st == "String?":
        return None if ctype == "const char *" else f"{arg} (String) for {ctype}"
    if st.startswith("UnsafeMutableRawPointer"):
        return None if ctype == "void *" else f"{arg} ({st}) for {ctype}"
    want = C_TO_SWIFT.get(ctype)
    if want and st.rstrip("?") != want.rstrip("?"):
        return f"{arg} ({st}) for {ctype} ({want})"
    return None


def check_swift(h, swift_files):
    problems, checked = [], 0
    srcs = {f: strip_swift(open(f, encoding="utf-8").read()) for f in swift_files}
    allsrc = "\n".join(srcs.values())
    funcs = swift_funcs(allsrc)
    for f, src in srcs.items():
        types = swift_decls(src, h)
        where = os.path.basename(f)
        for m in re.finditer(r"(?<![\w.])(aae_\w+)\s*\(", src):
            name = m.group(1)
            if re.search(r"func\s+$", src[:m.start()][-10:]):
                continue
            args, _ = args_at(src, m.end())
            line = src.count("\n", 0, m.start()) + 1
            checked += 1
            if name in h["structs"]:
                if args:
                    problems.append(f"{where}:{line}: {name}({', '.join(args)}): construct C structs empty, "
                                    f"then set fields")
                continue
            if name not in h["funcs"]:
                problems.append(f"{where}:{line}: {name} is not declared in sphere_aae.h")
                continue
            ret, params = h["funcs"][name]
            if len(args) != len(params):
                problems.append(f"{where}:{line}: {name} takes {len(params)} arguments "
                                f"({', '.join(t for t, _ in params)}); the Swift call passes {len(args)}")
                continue
            for k, (a, (t, pn)) in enumerate(zip(args, params)):
                why = arg_problem(a, t, h, types, funcs)
                if why:
                    problems.append(f"{where}:{line}: {name} argument {k + 1} ({pn}): {why}")
            before = src[:m.start()].rstrip()
            if before.endswith("String(cString:") and ret != "const char *":
                problems.append(f"{where}:{line}: String(cString: {name}(...)) but {name} returns {ret}")
        for m in re.finditer(r"\b(AAE_[A-Z0-9_]+)\b", src):
            checked += 1
            if m.group(1) not in h["consts"]:
                line = src.count("\n", 0, m.start()) + 1
                problems.append(f"{where}:{line}: {m.group(1)} is not defined in sphere_aae.h")
        for var, st in types.items():
            if st not in h["structs"]:
                continue
            for fm in re.finditer(r"\b" + re.escape(var) + r"\.(\w+)(\s*=(?!=)\s*([\w.]+)\s*$)?", src, flags=re.M):
                checked += 1
                field = fm.group(1)
                line = src.count("\n", 0, fm.start()) + 1
                if field not in h["structs"][st]:
                    problems.append(f"{where}:{line}: {st} has no field {field} "
                                    f"(fields: {', '.join(h['structs'][st])})")
                    continue
                rhs = fm.group(3)
                if rhs and "." in rhs:
                    prop = rhs.split(".")[-1]
                    pm = re.search(r"\bvar\s+" + re.escape(prop) + r"\s*:\s*(\w+)", allsrc)
                    want = C_TO_SWIFT.get(h["structs"][st][field])
                    if pm and want and pm.group(1) != want:
                        problems.append(f"{where}:{line}: {st}.{field} is {h['structs'][st][field]} ({want}); "
                                        f"{rhs} is {pm.group(1)}")
    return problems, checked


def check_package(pkg):
    problems, checked = [], 0
    text = open(os.path.join(pkg, "Package.swift"), encoding="utf-8").read()
    mm_path = os.path.join(pkg, "Sources", "CSphereAAE", "include", "module.modulemap")
    want = {
        r'name:\s*"CSphereAAE"': "a C target CSphereAAE",
        r'path:\s*"Sources/CSphereAAE"': "CSphereAAE at Sources/CSphereAAE",
        r'sources:\s*\[\s*"runtime"\s*\]': 'CSphereAAE sources: ["runtime"] (pkg_bindings writes runtime/ there)',
        r'publicHeadersPath:\s*"include"': 'publicHeadersPath: "include" (module map + sphere_aae.h)',
        r'\.headerSearchPath\(\s*"runtime"\s*\)': 'headerSearchPath("runtime") (the runtime includes "base/...")',
        r'\.define\(\s*"AAE_VERSION_STRING"': "AAE_VERSION_STRING defined (the CMake build defines it)",
        r'\.define\(\s*"_POSIX_C_SOURCE"': "_POSIX_C_SOURCE defined (as the CMake build)",
        r'name:\s*"SphereAAE",\s*dependencies:\s*\[\s*"CSphereAAE"\s*\]': "SphereAAE depends on CSphereAAE",
        r'"@AAE_VERSION@"': "the version token pkg_bindings fills in",
        r"\.iOS\(\.v14\)": "iOS 14 minimum (as the model libraries, docs/model_libraries.md)",
    }
    for pat, what in want.items():
        checked += 1
        if not re.search(pat, text):
            problems.append(f"Package.swift: missing {what}")
    checked += 1
    if not os.path.isfile(mm_path):
        problems.append("Sources/CSphereAAE/include/module.modulemap is missing")
    else:
        mm = open(mm_path, encoding="utf-8").read()
        if not re.search(r"module\s+CSphereAAE\s*\{", mm) or 'header "sphere_aae.h"' not in mm:
            problems.append('module.modulemap must declare module CSphereAAE with header "sphere_aae.h"')
    for f in sorted(os.listdir(os.path.join(pkg, "Sources", "SphereAAE"))):
        if f.endswith(".swift"):
            checked += 1
            s = open(os.path.join(pkg, "Sources", "SphereAAE", f), encoding="utf-8").read()
            if "aae_" in strip_swift(s) and "import CSphereAAE" not in s:
                problems.append(f"{f}: calls the C API without `import CSphereAAE`")
    return problems, checked


def main():
    header, pkg = sys.argv[1:3]
    h = parse_header(header)
    if len(h["funcs"]) < 20 or "aae_engine_chat_completion" not in h["funcs"]:
        print(f"FAIL the header parser found only {len(h['funcs'])} functions in {header}")
        print("0 passed, 1 failed")
        return 1
    swift_dir = os.path.join(pkg, "Sources", "SphereAAE")
    files = [os.path.join(swift_dir, f) for f in sorted(os.listdir(swift_dir)) if f.endswith(".swift")]
    p1, n1 = check_swift(h, files)
    p2, n2 = check_package(pkg)
    problems = p1 + p2
    for p in problems:
        print("FAIL " + p)
    print(f"checked {n1 + n2} uses against {len(h['funcs'])} C functions")
    print(f"{n1 + n2 - len(problems)} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
