#!/usr/bin/env bash
# Mutation testing: applies each mutant of tools/mutants.txt (format in its header) alone to the
# tree, rebuilds, runs the whole suite (unit, integration and doc tests; TESTS="a b" narrows it
# to those test binaries), and records the mutant as killed (a test failed),
# survived (all passed) or invalid (it did not build, or its original text is not found exactly
# once). The mutated files are always restored, also on error or Ctrl-C (trap).
#
#   tools/mutate.sh                 every mutant
#   tools/mutate.sh REGEX           the mutants whose name matches REGEX
#   tools/mutate.sh --check         only check that every mutant applies to this tree
#   MUTANTS=file tools/mutate.sh    another list
#
# GPU tests run with CI=true, so a missing adapter fails the baseline rather than skipping.
# The report goes to stdout and target/mutation-report.txt: each mutant's outcome and, when
# killed, every test binary that failed. A few minutes per mutant on 2 cores with the whole
# suite; about 20 s with TESTS="known_answers gpu_kernels" and the like.
set -u
cd "$(dirname "$0")/.."
LIST=${MUTANTS:-tools/mutants.txt}
# the whole suite by default: a mistake in restoration, enhancement or data is caught by the
# tests of those areas, not by the kernel binaries alone
TEST_ARGS=()
for t in ${TESTS:-}; do TEST_ARGS+=(--test "$t"); done
REPORT=target/mutation-report.txt
BACKUP=$(mktemp -d)

# mutants.py LIST names | files NAME | apply NAME | check
mutants() {
    python3 - "$LIST" "$@" <<'PY'
import sys

def parse(path):
    mutants, cur, file, pending = [], None, None, None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        where = f"{path}:{n}"
        if line.startswith("== "):
            cur = {"name": line[3:].strip(), "edits": []}
            mutants.append(cur)
            file = None
        elif line.startswith("@ "):
            file = line[2:].strip()
        elif line.startswith("- "):
            if cur is None or file is None or pending is not None:
                sys.exit(f"{where}: '- ' outside a mutant, without '@ file', or after another '- '")
            pending = line[2:]
        elif line.startswith("+ "):
            if pending is None:
                sys.exit(f"{where}: '+ ' without a '- ' before it")
            cur["edits"].append((file, pending, line[2:]))
            pending = None
        elif line.strip() and not line.startswith("#"):
            sys.exit(f"{where}: cannot read {line!r}")
    return mutants

def find(mutants, name):
    for m in mutants:
        if m["name"] == name:
            return m
    sys.exit(f"no mutant {name}")

def problems(m):
    out = []
    for file, old, _ in m["edits"]:
        try:
            n = open(file, encoding="utf-8").read().count(old)
        except OSError as e:
            out.append(f"{file}: {e}")
            continue
        if n != 1:
            out.append(f"{file}: original found {n} times: {old.strip()!r}")
    return out

path, cmd = sys.argv[1], sys.argv[2]
ms = parse(path)
if cmd == "names":
    print("\n".join(m["name"] for m in ms))
elif cmd == "files":
    print("\n".join(sorted({f for f, _, _ in find(ms, sys.argv[3])["edits"]})))
elif cmd == "check":
    bad = 0
    for m in ms:
        for p in problems(m):
            print(f"{m['name']}: {p}")
            bad += 1
    print(f"{len(ms)} mutants, {bad} problems")
    sys.exit(1 if bad else 0)
elif cmd == "apply":
    m = find(ms, sys.argv[3])
    bad = problems(m)
    if bad:
        print("; ".join(bad))
        sys.exit(1)
    for file, old, new in m["edits"]:
        text = open(file, encoding="utf-8").read()
        open(file, "w", encoding="utf-8").write(text.replace(old, new, 1))
PY
}

restore() {
    if [ -f "$BACKUP/files" ]; then
        while IFS= read -r f; do
            # a plain copy: a fresh mtime, so cargo rebuilds the restored file
            [ -n "$f" ] && cp "$BACKUP/tree/$f" "$f"
        done <"$BACKUP/files"
        rm -f "$BACKUP/files"
    fi
}
cleanup() {
    restore
    rm -rf "$BACKUP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_and_test() { # prints "pass", the failing binaries, or "build-error"
    if ! cargo test --release --no-run "${TEST_ARGS[@]}" >"$BACKUP/build.log" 2>&1; then
        echo build-error
        return
    fi
    # every binary runs (--no-fail-fast), so the report says which tests kill each mutant
    if CI=true timeout 900 cargo test --release --no-fail-fast "${TEST_ARGS[@]}" \
        >"$BACKUP/test.log" 2>&1; then
        echo pass
    else
        local which
        which=$(grep -o '`--test [a-z_]*`' "$BACKUP/test.log" | sed 's/`--test \([a-z_]*\)`/\1/' |
            sort -u | paste -sd, -)
        echo "${which:-timeout-or-crash}"
    fi
}

if [ "${1:-}" = "--check" ]; then
    mutants check
    exit $?
fi
mutants check >/dev/null || { mutants check; exit 1; }
FILTER=${1:-.}
mkdir -p target

echo "baseline (unmutated tree)..."
base=$(build_and_test)
if [ "$base" != pass ]; then
    echo "the unmutated tree does not pass ($base); see the log:" >&2
    tail -40 "$BACKUP/build.log" "$BACKUP/test.log" >&2 2>/dev/null
    exit 1
fi

killed=0
survived=0
invalid=0
: >"$REPORT"
while IFS= read -r name; do
    echo "$name" | grep -Eq -- "$FILTER" || continue
    started=$(date +%s)
    mutants files "$name" >"$BACKUP/files"
    mkdir -p "$BACKUP/tree"
    while IFS= read -r f; do
        mkdir -p "$BACKUP/tree/$(dirname "$f")"
        cp -p "$f" "$BACKUP/tree/$f"
    done <"$BACKUP/files"
    if ! why=$(mutants apply "$name"); then
        result="invalid ($why)"
        invalid=$((invalid + 1))
    else
        outcome=$(build_and_test)
        case $outcome in
        pass)
            result="SURVIVED"
            survived=$((survived + 1))
            ;;
        build-error)
            result="invalid (does not build)"
            invalid=$((invalid + 1))
            ;;
        *)
            result="killed by $outcome"
            killed=$((killed + 1))
            ;;
        esac
    fi
    restore
    line=$(printf '%-42s %s (%ss)' "$name" "$result" $(($(date +%s) - started)))
    echo "$line" | tee -a "$REPORT"
done < <(mutants names)

total=$((killed + survived))
summary="killed $killed of $total valid mutants ($survived survived, $invalid invalid)"
echo "$summary" | tee -a "$REPORT"
# leave the build matching the restored tree
cargo build --release "${TEST_ARGS[@]}" >/dev/null 2>&1
