#!/usr/bin/env python3
"""Generates the protobuf schema table of cloudbox-kube-protobuf.

Output: emulator/kube-protobuf/schema/k8s-pb-0.9.0.json, a compact table the crate's generic
wire-format decoder walks: for each Kubernetes protobuf message, its fields (number, JSON name,
type, cardinality, Go emptiness flags), and for each apiVersion+kind, its message.

Inputs, by what each is the authority for:

* k8s-pb 0.9.0 (prost-generated Rust, from the Kubernetes 1.35.0 .proto files): which messages
  exist, their field numbers and protobuf types. Read from the cargo registry
  (~/.cargo/registry/src/*/k8s-pb-0.9.0/src/**/mod.rs).
* k8s-openapi 0.26 (`src/v1_34`, the newest Kubernetes version it ships): JSON field names, which
  prost's snake_case loses (`volume_id` is `volumeID`). Matched per struct (k8s-openapi's module
  path mirrors the API group/version), then through a global normalized lookup (lowercase,
  separators removed), then plain camelCase.
* Optionally (--go-root), the Go API types of Kubernetes 1.35.0 (the `kubernetes-1.35.0` tags of
  k8s.io/api, apimachinery, apiextensions-apiserver, kube-aggregator and metrics): the JSON the
  Go client would have sent is `encoding/json` over those structs, so their tags give the exact
  JSON names (they override k8s-openapi where both exist), which fields are pointers (a present
  zero `replicas: 0` is kept) and which are `omitempty` values (gogo-protobuf always writes value
  fields, so an empty `generateName` is on the wire and must be dropped), anonymous embedded
  structs (`json:",inline"`, e.g. Probe's handler, Volume's source), slice types
  (`type ExtraValue []string`), and the kinds each group version registers (register.go).
  Without it, every scalar keeps its present value and kinds come from k8s-pb's `Resource`
  impls plus every message with an ObjectMeta `metadata` field.

Usage (regenerate; the Go trees are `git archive kubernetes-1.35.0` of the five repositories):

    python3 tools/gen_k8s_protobuf_schema.py --go-root /tmp/k8s-go

Options: --k8s-pb DIR, --k8s-openapi DIR (a `src/v1_XX` directory), --go-root DIR (holding api/,
apimachinery/, apiextensions-apiserver/, kube-aggregator/, metrics/), --out FILE.
Prints a summary of where names and flags came from, and every disagreement between sources.
"""

import argparse
import glob
import json
import os
import re
import sys
from collections import Counter, defaultdict

K8S_PB_VERSION = "0.9.0"
KUBERNETES_VERSION = "1.35.0"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "emulator/kube-protobuf/schema/k8s-pb-0.9.0.json")

SCALARS = {"string", "int32", "int64", "bool", "double", "bytes"}

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
# Messages whose Go type has its own MarshalJSON (or is a proto-only helper); the decoder
# implements each by name. Values: the `special` tag the Rust side matches on.
SPECIALS = {
    META + ".Time": "time",
    META + ".MicroTime": "micro_time",
    META + ".Duration": "duration",
    META + ".FieldsV1": "raw_json",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "int_or_string",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "raw_json",
}
for _v in ("v1", "v1beta1"):
    _p = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions." + _v
    SPECIALS[_p + ".JSON"] = "raw_json"
    SPECIALS[_p + ".JSONSchemaPropsOrBool"] = "schema_or_bool"
    SPECIALS[_p + ".JSONSchemaPropsOrArray"] = "schema_or_array"
    SPECIALS[_p + ".JSONSchemaPropsOrStringArray"] = "schema_or_string_array"

SPECIALS_LOWER = {k.lower(): v for k, v in SPECIALS.items()}

# meta/v1 kinds every group version accepts (metav1.AddToGroupVersion: WatchEvent, the option
# types, and the unversioned Status/discovery types).
META_ANY_VERSION = [
    "WatchEvent", "ListOptions", "GetOptions", "DeleteOptions", "CreateOptions",
    "UpdateOptions", "PatchOptions", "Status", "APIVersions", "APIGroupList", "APIGroup",
    "APIResourceList",
]

# Go repository directory (under --go-root) of each k8s-pb top-level module.
GO_REPO_OF_MODULE = {
    "api": "api",
    "apimachinery": "apimachinery",
    "apiextensions_apiserver": "apiextensions-apiserver",
    "kube_aggregator": "kube-aggregator",
    "metrics": "metrics",
}

# Fallback API group of a k8s-pb module when no Go register.go is available (only used
# without --go-root): `api/<dir>/<version>` is `<dir>.k8s.io` except for these.
GROUP_OF_DIR = {
    "core": "", "apps": "apps", "batch": "batch", "autoscaling": "autoscaling",
    "policy": "policy", "extensions": "extensions",
    "rbac": "rbac.authorization.k8s.io",
    "flowcontrol": "flowcontrol.apiserver.k8s.io",
    "apiserverinternal": "internal.apiserver.k8s.io",
}


def norm(name):
    """Normalized field/struct name: lowercase, without r#, _, -, $ and trailing underscores."""
    name = name.removeprefix("r#")
    return re.sub(r"[_\-$]", "", name).lower()


def camel(snake):
    snake = snake.removeprefix("r#")
    parts = snake.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def split_generics(s):
    """'A, B<C, D>' -> ['A', 'B<C, D>'] (top-level commas only)."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def unwrap(ty):
    """Strips Option/Vec/Box wrappers; for BTreeMap returns the value type."""
    while True:
        m = re.fullmatch(r"(?:::core::option::Option|::prost::alloc::vec::Vec|"
                         r"::prost::alloc::boxed::Box)<(.*)>", ty)
        if m:
            ty = m.group(1)
            continue
        m = re.fullmatch(r"::prost::alloc::collections::BTreeMap<(.*)>", ty)
        if m:
            ty = split_generics(m.group(1))[1]
            continue
        return ty


# ---------------------------------------------------------------------------------------------
# k8s-pb


def parse_k8s_pb(root):
    """Returns {module: {rust_name: [field]}} and the Resource impls [(module, api_version, kind)].

    module is the path under src/ ('api/core/v1'); field is a dict with number, rust, kind
    (scalar name or 'message'), card ('', 'r', 'm'), ref (message module path + name) for
    messages and message-valued maps.
    """
    modules, resources = {}, []
    for path in sorted(glob.glob(os.path.join(root, "**", "mod.rs"), recursive=True)):
        module = os.path.relpath(os.path.dirname(path), root)
        text = open(path, encoding="utf-8").read()
        structs = {}
        for sm in re.finditer(r"^pub struct (\w+) \{(?:\}|\n(.*?)^\})", text, re.S | re.M):
            name, body = sm.group(1), sm.group(2) or ""
            fields = []
            for fm in re.finditer(r"#\[prost\((.*?)\)\]\s*\n\s*pub (r#\w+|\w+):\s*(.*?),\n\s*(?=///|#|$)",
                                  body + "\n#", re.S):
                attr, rust, ty = fm.group(1), fm.group(2), re.sub(r"\s+", "", fm.group(3))
                ty = ty.rstrip(",").replace(",>", ">")
                number = int(re.search(r'tag\s*=\s*"(\d+)"', attr).group(1))
                head = attr.split(",")[0].strip()
                f = {"number": number, "rust": rust, "card": ""}
                mm = re.match(r'(?:btree_map|map|hash_map)\s*=\s*"string,\s*(\w+)"', attr)
                if mm:
                    f["card"] = "m"
                    f["kind"] = mm.group(1)
                elif head.startswith("bytes"):
                    f["kind"] = "bytes"
                else:
                    f["kind"] = head
                if re.search(r"\brepeated\b", attr):
                    f["card"] = "r"
                if f["kind"] == "message":
                    f["ref"] = resolve_rust_path(module, unwrap(ty))
                elif f["kind"] not in SCALARS:
                    raise SystemExit(f"{module}::{name}.{rust}: unsupported prost type {attr!r}")
                fields.append(f)
            declared = len(re.findall(r"#\[prost\(", body))
            if declared != len(fields):
                raise SystemExit(f"{module}::{name}: parsed {len(fields)} of {declared} fields")
            structs[name] = fields
        if structs:
            modules[module] = structs
        for rm in re.finditer(r"impl crate::Resource for (\w+) \{.*?API_VERSION: &'static str = \"([^\"]*)\";"
                              r".*?KIND: &'static str = \"([^\"]*)\";", text, re.S):
            resources.append((module, rm.group(2), rm.group(3), rm.group(1)))
    return modules, resources


def resolve_rust_path(module, ty):
    parts = ty.split("::")
    base = module.split("/")
    while parts and parts[0] == "super":
        base = base[:-1]
        parts = parts[1:]
    if parts and parts[0] == "crate":
        base, parts = [], parts[1:]
    return ("/".join(base + parts[:-1]), parts[-1])


# ---------------------------------------------------------------------------------------------
# k8s-openapi


def parse_k8s_openapi(root):
    """Returns {(module, norm struct name): (struct name, {norm field: json})} and a global
    {norm field: Counter of json names}."""
    per_struct, global_names = {}, defaultdict(Counter)
    for path in glob.glob(os.path.join(root, "**", "*.rs"), recursive=True):
        text = open(path, encoding="utf-8").read()
        sm = re.search(r"^pub struct (\w+)", text, re.M)
        if not sm:
            continue
        module = os.path.relpath(os.path.dirname(path), root)
        names = {}
        for jm in re.finditer(r'"([^"]+)" => Field::Key_(\w+),', text):
            names[norm(jm.group(1))] = jm.group(1)
            global_names[norm(jm.group(1))][jm.group(1)] += 1
        per_struct[(module, norm(sm.group(1)))] = (sm.group(1), names)
    return per_struct, global_names


# ---------------------------------------------------------------------------------------------
# Go API types


GO_FIELD = re.compile(r"^\t(?:(\w+)\s+)?([^\s`]+)\s+`([^`]*)`")


def parse_go_package(directory):
    """Returns ({struct: {number: go field}}, {slice type: element}, group, kinds, order).

    go field: dict(json, omitempty, omitzero, inline, ptr, hidden); order: {struct: [numbers in
    Go declaration order]}.
    """
    structs, slices, order, aliases = {}, {}, {}, {}
    group, kinds = None, []
    if not os.path.isdir(directory):
        return structs, slices, group, kinds, order
    for path in sorted(glob.glob(os.path.join(directory, "*.go"))):
        if path.endswith("_test.go"):
            continue
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"^type (\w+) \[\](\S+)\s*$", text, re.M):
            slices[m.group(1)] = m.group(2)
        imports = dict(re.findall(r'^\s*(\w+)\s+"k8s\.io/([^"]+)"', text, re.M))
        for m in re.finditer(r"^type (\w+) (\w+)\.(\w+)\s*$", text, re.M):
            if m.group(2) in imports:
                aliases[m.group(1)] = (imports[m.group(2)], m.group(3))
        for sm in re.finditer(r"^type (\w+) struct\s*\{(?:\}|\n(.*?)^\})", text, re.S | re.M):
            fields, numbers = {}, []
            for line in (sm.group(2) or "").split("\n"):
                fm = GO_FIELD.match(line)
                if not fm:
                    continue
                name, gotype, tags = fm.groups()
                pm = re.search(r'protobuf:"\w+,(\d+)[,"]', tags)
                if not pm:
                    continue
                number = int(pm.group(1))
                nm = re.search(r'protobuf:"[^"]*\bname=(\w+)', tags)
                jm = re.search(r'json:"([^"]*)"', tags)
                jparts = (jm.group(1) if jm else "").split(",")
                jname = jparts[0]
                embedded = name is None
                if not jname and not embedded:
                    jname = name
                fields[number] = {
                    "json": jname,
                    "omitempty": "omitempty" in jparts[1:],
                    "omitzero": "omitzero" in jparts[1:],
                    "inline": embedded and jname == "",
                    "ptr": gotype.startswith("*"),
                    "hidden": jname == "-",
                    "proto_name": nm.group(1) if nm else None,
                }
                numbers.append(number)
            structs[sm.group(1)] = fields
            order[sm.group(1)] = numbers
        if os.path.basename(path) == "register.go":
            gm = re.search(r'const GroupName = "([^"]*)"', text)
            if gm:
                group = gm.group(1)
            for am in re.finditer(r"AddKnownTypes\(\s*SchemeGroupVersion,(.*?)\)\n", text, re.S):
                kinds += re.findall(r"&(\w+)\{\}", am.group(1))
    # `type List metav1.List`: the same struct under another name (import path k8s.io/<repo>/...).
    for name, (import_path, target) in aliases.items():
        other = parse_go_package_cached(os.path.join(GO_ROOT, import_path))
        if target in other[0]:
            structs[name] = other[0][target]
            order[name] = other[4][target]
    return structs, slices, group, kinds, order


_GO_CACHE = {}
GO_ROOT = ""


def parse_go_package_cached(directory):
    if directory not in _GO_CACHE:
        _GO_CACHE[directory] = parse_go_package(directory)
    return _GO_CACHE[directory]


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    home = os.path.expanduser("~/.cargo/registry/src")
    ap.add_argument("--k8s-pb", default=(glob.glob(f"{home}/*/k8s-pb-{K8S_PB_VERSION}/src") or [None])[0])
    ap.add_argument("--k8s-openapi", default=(sorted(glob.glob(f"{home}/*/k8s-openapi-0.26.*/src/v1_34")) or [None])[-1])
    ap.add_argument("--go-root", default=None)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="write nothing; fail if --out differs from what would be generated")
    args = ap.parse_args()
    global GO_ROOT
    GO_ROOT = args.go_root or ""
    if not args.k8s_pb or not os.path.isdir(args.k8s_pb):
        raise SystemExit("k8s-pb 0.9.0 source not found; pass --k8s-pb (cargo fetch downloads it)")

    modules, resources = parse_k8s_pb(args.k8s_pb)
    openapi, global_names = parse_k8s_openapi(args.k8s_openapi) if args.k8s_openapi else ({}, {})

    msg_stats = {}  # message -> Counter of where its names and flags came from
    problems = []

    # Go packages, one per k8s-pb module.
    go = {}
    for module in modules:
        top, rest = module.split("/", 1) if "/" in module else (module, "")
        if args.go_root and top in GO_REPO_OF_MODULE:
            go[module] = parse_go_package_cached(os.path.join(args.go_root, GO_REPO_OF_MODULE[top], rest))
        else:
            go[module] = ({}, {}, None, [], {})

    def package(module):
        return "k8s.io." + module.replace("/", ".")

    # Proto message names: the Go struct name (k8s-pb's prost renames AWSElastic... to AwsElastic...).
    proto_name = {}
    for module, structs in modules.items():
        go_structs = go[module][0]
        by_norm = defaultdict(list)
        for g in list(go_structs) + list(go[module][1]):
            by_norm[g.lower()].append(g)
        for rust in structs:
            cands = by_norm.get(rust.lower(), [])
            oa_struct = openapi.get((module, norm(rust)), (rust, {}))[0]
            proto_name[(module, rust)] = cands[0] if len(cands) == 1 else oa_struct
            if len(cands) > 1:
                problems.append((None, f"ambiguous Go struct for {module}::{rust}: {cands}"))

    def full(module, rust):
        return package(module) + "." + proto_name[(module, rust)]

    messages = {}
    for module, structs in sorted(modules.items()):
        go_structs, go_slices, _, _, go_order = go[module]
        for rust, fields in sorted(structs.items()):
            name = proto_name[(module, rust)]
            fname = full(module, rust)
            entry = {}
            if fname.lower() in SPECIALS_LOWER:
                entry["special"] = SPECIALS_LOWER[fname.lower()]
            elif name in go_slices and len(fields) == 1 and fields[0]["card"] == "r":
                # `type ExtraValue []string`: proto wraps it in {repeated items = 1}; JSON is the array.
                entry["special"] = "array"
            gofields = go_structs.get(name)
            if gofields is None and args.go_root and "special" not in entry:
                problems.append((fname, f"{fname}: no Go struct (names from k8s-openapi, flags defaulted)"))
            oa = openapi.get((module, norm(rust)), (None, {}))[1]
            tally = msg_stats[fname] = Counter()
            prefix = "" if "special" not in entry else "(special types) "

            def count(label):
                tally[prefix + label] += 1

            out = []
            for f in fields:
                g = (gofields or {}).get(f["number"])
                key = norm(f["rust"])
                oa_name = oa.get(key)
                counted = "special" not in entry
                guessed = False
                if g is not None and (g["json"] or g["inline"]):
                    jname = g["json"]
                    count("json name from Go tag")
                    if oa_name and jname and oa_name != jname:
                        problems.append((fname, f"{fname}.{jname}: k8s-openapi says {oa_name!r}"))
                    elif oa_name:
                        count("json name from Go tag, same in k8s-openapi 1.34 struct")
                    if oa and not oa_name and not g["inline"] and not g["hidden"]:
                        count("Go field missing in k8s-openapi struct (newer than 1.34)")
                elif oa_name:
                    jname = oa_name
                    count("json name from k8s-openapi struct")
                elif key in global_names:
                    jname = global_names[key].most_common(1)[0][0]
                    count("json name from k8s-openapi global lookup")
                else:
                    jname = camel(f["rust"])
                    count("json name from camelCase")
                    guessed = counted
                if g is not None and g["proto_name"]:
                    if norm(g["proto_name"]) == key:
                        count("field number and name agree between Go and k8s-pb")
                    else:
                        problems.append((fname, f"{fname} #{f['number']}: Go says {g['proto_name']}, "
                                                f"k8s-pb says {f['rust']}"))
                if g is None and gofields is not None and "special" not in entry:
                    problems.append((fname, f"{fname}.{jname} (#{f['number']}): no Go field with that number"))
                flags = f["card"]
                if g is None and oa and not oa_name and f["kind"] == "message" and not f["card"]:
                    # Not a JSON field of the struct, but the embedded message's fields are:
                    # an anonymous embedded struct (Volume's VolumeSource, Probe's handler).
                    inner = {norm(x["rust"]) for x in modules[f["ref"][0]][f["ref"][1]]}
                    if inner and inner <= set(oa):
                        flags += "i"
                        jname = ""
                if guessed and "i" not in flags:
                    problems.append((fname, f"{fname}.{jname}: name guessed by camelCase"))
                if g is None:
                    # No Go information: keep whatever is present, omit what is absent.
                    flags += "po"
                    count("flags defaulted (no Go field)")
                else:
                    if g["hidden"]:
                        flags += "h"
                    if g["inline"]:
                        flags += "i"
                    if g["ptr"]:
                        flags += "p"
                    if g["omitempty"]:
                        flags += "o"
                    if g["omitzero"]:
                        flags += "z"
                    if f["card"] and g["ptr"]:
                        problems.append((fname, f"{fname}.{jname}: pointer to a slice or map"))
                ty = f["kind"]
                if ty == "message":
                    rmod, rname = f["ref"]
                    if (rmod, rname) not in proto_name:
                        raise SystemExit(f"{fname}.{jname}: unknown message {rmod}::{rname}")
                    ty = full(rmod, rname)
                out.append((f["number"], jname, ty, flags))
            # Go declaration order (that is the order encoding/json writes).
            pos = {n: i for i, n in enumerate(go_order.get(name, []))}
            out.sort(key=lambda x: (pos.get(x[0], len(pos)), x[0]))
            entry["fields"] = [list(x) for x in out]
            messages[fname] = entry

    found = {m.lower() for m, e in messages.items() if "special" in e}
    for name in SPECIALS_LOWER:
        if name not in found:
            raise SystemExit(f"special type {name} not found")

    # Kinds.
    kinds = {}
    for module in modules:
        if "testapigroup" in module:
            continue
        _, _, group, gokinds, _ = go[module]
        version = module.rsplit("/", 1)[-1]
        if group is None:
            continue
        api_version = f"{group}/{version}" if group else version
        for k in gokinds:
            rust = next((r for r in modules[module] if proto_name[(module, r)] == k), None)
            if rust is None:
                problems.append((None, f"Go kind {api_version} {k} has no proto message"))
                continue
            kinds[f"{api_version} {k}"] = full(module, rust)
    for module, api_version, kind, rust in resources:
        key = f"{api_version} {kind}"
        if key not in kinds:
            if args.go_root:
                problems.append((None, f"k8s-pb Resource {key} not registered in Go"))
            kinds[key] = full(module, rust)
    if not args.go_root:
        for module, structs in modules.items():
            parts = module.split("/")
            if parts[0] != "api" or len(parts) != 3:
                continue
            group = GROUP_OF_DIR.get(parts[1], parts[1] + ".k8s.io")
            api_version = f"{group}/{parts[2]}" if group else parts[2]
            for rust, fields in structs.items():
                if any(f["number"] == 1 and f.get("ref") == ("apimachinery/pkg/apis/meta/v1", "ObjectMeta")
                       for f in fields):
                    kinds.setdefault(f"{api_version} {proto_name[(module, rust)]}", full(module, rust))
    for k in META_ANY_VERSION:
        kinds[f"* {k}"] = f"{META}.{k}"

    # Keep only what some kind reaches.
    reach, stack = set(), list(kinds.values())
    while stack:
        m = stack.pop()
        if m in reach:
            continue
        reach.add(m)
        for f in messages[m]["fields"]:
            if f[2] not in SCALARS:
                stack.append(f[2])
    for name in list(messages):
        if name not in reach:
            del messages[name]

    doc = {
        "generator": "tools/gen_k8s_protobuf_schema.py",
        "k8s-pb": K8S_PB_VERSION,
        "kubernetes": KUBERNETES_VERSION,
        "json_names": "Go struct tags of Kubernetes " + KUBERNETES_VERSION if args.go_root
        else "k8s-openapi " + os.path.basename(args.k8s_openapi or "-"),
        "flags": "r repeated, m map<string, type>, p Go pointer, o omitempty, z omitzero, "
                 "i inline (embedded, merged into the parent), h not in JSON",
        "kinds": dict(sorted(kinds.items())),
        "messages": dict(sorted(messages.items())),
    }
    text = render(doc)
    if args.check:
        current = open(args.out, encoding="utf-8").read() if os.path.exists(args.out) else ""
        if current != text:
            raise SystemExit(f"{args.out} is stale: rerun tools/gen_k8s_protobuf_schema.py")
        print(f"{os.path.relpath(args.out, REPO)} is up to date", file=sys.stderr)
        return
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)

    print(f"wrote {os.path.relpath(args.out, REPO)}: {len(kinds)} kinds, {len(messages)} messages, "
          f"{os.path.getsize(args.out)} bytes", file=sys.stderr)
    stats = sum((msg_stats[m] for m in messages), Counter())
    for k, v in sorted(stats.items()):
        print(f"  {k}: {v}", file=sys.stderr)
    for message, p in problems:
        if message is None or message in messages:
            print(f"  note: {p}", file=sys.stderr)


def render(doc):
    """The table as text: one message per line, so it stays compact and diffs stay readable."""
    out = ["{\n"]
    for k in (k for k in doc if k not in ("kinds", "messages")):
        out.append(f"  {json.dumps(k)}: {json.dumps(doc[k])},\n")
    for section, compact in (("kinds", False), ("messages", True)):
        out.append(f'  "{section}": {{\n')
        items = list(doc[section].items())
        for i, (k, v) in enumerate(items):
            value = json.dumps(v, separators=(",", ":")) if compact else json.dumps(v)
            out.append(f"    {json.dumps(k)}: {value}{',' if i + 1 < len(items) else ''}\n")
        out.append("  }" + (",\n" if section == "kinds" else "\n"))
    out.append("}\n")
    return "".join(out)


if __name__ == "__main__":
    main()
