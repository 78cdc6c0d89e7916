#!/usr/bin/env python3
"""Writes each ```c block of README.md as a compilable file, for scripts/test-cpp.sh to
build as C and as C++, and each ```cpp block as a C++17 file.

  readme_snippets.py README.md OUTDIR      -> OUTDIR/readme_<line>.c and .cpp, one name a line

The README's snippets are fragments: statements that use a client, a config or a request's
strings made elsewhere. Each becomes the body of one function, `int snippet(...)`, whose
parameters are exactly the names the fragment uses without declaring (a pirsch_client
*client, const char *peer_address...), so -Wunused-parameter stays quiet and nothing is
declared twice. #include lines move to the top of the file, after the standard headers a
fragment may use (pirsch.h, stdio.h for fprintf, string.h for memset). A name the table below does not
know is left undeclared, so the
snippet fails to compile: a new snippet must compile, not be skipped.
"""
import os
import re
import sys

# Names a fragment may take from around it, and their declarations.
CONTEXT = {
    "client": "pirsch_client *client",
    "cfg": "pirsch_config *cfg",
    "hit": "pirsch_hit_options hit",
    "ev": "pirsch_event_options ev",
    "rc": "pirsch_result rc",
    "peer_address": "const char *peer_address",
    "user_agent_header": "const char *user_agent_header",
    "accept_language_header": "const char *accept_language_header",
    "referer_header": "const char *referer_header",
    "ua": "const char *ua",
    "xff": "const char *xff",
    "ref": "const char *ref",
    "full_url": "const char *full_url",
    "peer_ip": "const char *peer_ip",
    "n_headers": "size_t n_headers",
}

# The same for the C++ blocks (pirsch.hpp; a request handler's cpp-httplib request).
CPP_CONTEXT = {
    "client": "pirsch::Client &client",
    "pv": "pirsch::PageView &pv",
    "req": "const httplib::Request &req",
    "url": "std::string_view url",
    "peer": "std::string_view peer",
}
CPP_PRELUDE = "#include <pirsch.hpp>\n#include <httplib.h>\n\n#include <string_view>\n\nvoid log(std::string_view, std::string_view);\n"

PRELUDE = "#include <pirsch.h>\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdio.h>\n#include <string.h>\n"


def blocks(text, lang="c"):
    """(line number, code) of each ```c (or ```cpp) block."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        if lines[i].strip() == "```" + lang:
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            out.append((start + 1, "\n".join(body)))
        i += 1
    return out


def declared(code, name):
    """Whether the fragment declares `name` itself (a type, maybe * or &, the name, then = ; [ ( or {)."""
    types = r"(?:pirsch::\w+|std::\w+|pirsch_\w+|struct\s+pirsch_\w+|char|int|size_t|bool)"
    return re.search(r"\b" + types + r"\s*[*&]?\s*" + re.escape(name) + r"\s*(?:\[\s*\])?\s*[=;({]", code) is not None


def wrap(code, context=CONTEXT, prelude=PRELUDE):
    includes = [l for l in code.split("\n") if l.lstrip().startswith("#include") and l.strip() not in prelude]
    body_text = "\n".join(l for l in code.split("\n") if not l.lstrip().startswith("#include"))
    # Names are looked for outside comments and strings.
    bare = re.sub(r"/\*.*?\*/", " ", body_text, flags=re.S)
    bare = re.sub(r'"(?:\\.|[^"\\])*"', '""', bare)
    idents = set(re.findall(r"\b[A-Za-z_]\w*\b", bare))
    params = [decl for name, decl in context.items() if name in idents and not declared(bare, name)]
    return prelude + "\n".join(includes) + "\n\n" + \
        "int snippet(" + (", ".join(params) if params else "void") + ");\n" + \
        "int snippet(" + (", ".join(params) if params else "void") + ") {\n" + body_text + "\n    return 0;\n}\n"


def main():
    readme, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    found = blocks(text)
    if not found:
        sys.exit("readme_snippets: no ```c block in " + readme)
    for line, code in found:
        name = f"readme_{line}.c"
        with open(os.path.join(outdir, name), "w", encoding="utf-8") as f:
            f.write(f"/* README.md line {line} */\n" + wrap(code))
        print(name)
    for line, code in blocks(text, "cpp"):
        name = f"readme_{line}.cpp"
        with open(os.path.join(outdir, name), "w", encoding="utf-8") as f:
            f.write(f"// README.md line {line}\n" + wrap(code, CPP_CONTEXT, CPP_PRELUDE))
        print(name)


if __name__ == "__main__":
    main()
