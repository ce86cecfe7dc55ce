#!/bin/sh
# Writes the C file that carries the dashboard's files (src/dashboard/)
# into the module: ngx_http_runs_dashboard_embed.sh DIR OUT.  OUT is
# replaced only when what it would hold changed, so that make rebuilds
# it only then.  Needs a POSIX shell, od, cksum and sed: nothing that a
# machine able to build nginx lacks.

set -eu

dir=$1
out=$2
tmp=$out.tmp.$$

mkdir -p "$(dirname "$out")"

{
    echo '/* made by src/ngx_http_runs_dashboard_embed.sh: do not edit */'
    echo
    echo '#include "ngx_http_runs.h"'
    echo

    n=0
    for f in "$dir"/*; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        case $name in
            *[!a-z0-9._-]*|.*) continue ;;
        esac
        echo "static const u_char  ngx_http_runs_dashboard_file$n[] = {"
        # od on its own: a failure is seen (no pipefail in sh)
        od -An -v -tx1 "$f" >"$tmp.od" || exit 1
        [ "$(wc -w <"$tmp.od" | tr -d ' ')" = "$(wc -c <"$f" | tr -d ' ')" ] \
            || { echo "embed: $f: od gave another size" >&2; exit 1; }
        sed -e 's/ *$//' -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/   /' \
            "$tmp.od"
        echo "    0x00"
        echo "};"
        echo
        n=$((n + 1))
    done

    echo "const ngx_http_runs_dashboard_file_t  ngx_http_runs_dashboard_files[] = {"
    n=0
    for f in "$dir"/*; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        case $name in
            *[!a-z0-9._-]*|.*) continue ;;
        esac
        size=$(wc -c <"$f" | tr -d ' ')
        sum=$(cksum <"$f" | cut -d' ' -f1)
        etag=$(printf '"%x-%x"' "$sum" "$size")
        echo "    { ngx_string(\"$name\"), ngx_string(\"$(printf '%s' "$etag" | sed 's/"/\\"/g')\"),"
        echo "      ngx_http_runs_dashboard_file$n, $size },"
        n=$((n + 1))
    done
    echo "    { ngx_null_string, ngx_null_string, NULL, 0 }"
    echo "};"
} >"$tmp"

rm -f "$tmp.od"

if [ -f "$out" ] && cmp -s "$tmp" "$out"; then
    rm -f "$tmp"
else
    mv -f "$tmp" "$out"
fi
