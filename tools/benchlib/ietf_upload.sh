#!/usr/bin/env bash
# The curl client of `tools/bench --resumable-drill`: an upload following the IETF draft
# "Resumable Uploads for HTTP" as imgreg speaks it (imgreg/api/resumable.py), in plain curl.
#
#   ietf_upload.sh create FILE_URL FILE CHUNK [STOP_AT]   POST, then PATCHes from offset 0
#   ietf_upload.sh resume SESSION_URL FILE CHUNK          HEAD for the offset, then PATCHes
#
# POST /v2/images/{id}/file with `Upload-Complete: ?0` and `Upload-Length` creates the upload
# (201, Location: the session); HEAD on the session gives `Upload-Offset`; each PATCH sends
# CHUNK bytes of FILE from that offset (`Content-Type: application/partial-upload`,
# `Upload-Offset`, a Content-Length, `Upload-Complete: ?0`), the last one `Upload-Complete: ?1`
# (the server then stores the image). With STOP_AT, it stops after the PATCH that reaches it.
# The identity headers come from the curl config file in $DRILL_CURL_CONFIG. It prints
# "location URL", "resume-offset N" and "offset N" lines; any status it does not expect is an
# error (exit 1).
set -euo pipefail
mode=$1 url=$2 file=$3 chunk=$4 stop_at=${5:-}
size=$(stat -c %s "$file")
headers=$(mktemp)
trap 'rm -f "$headers"' EXIT

# DRILL_START_RATE (bytes/s): the first leg sends at about that rate
rate=()
[ "$mode" = create ] && [ -n "${DRILL_START_RATE:-}" ] && rate=(--limit-rate "${DRILL_START_RATE%.*}")

call() {  # call CURL-ARGS...: the response's headers in $headers, its status printed
    curl -sS -K "$DRILL_CURL_CONFIG" -D "$headers" -o /dev/null "${rate[@]}" "$@"
    awk '/^HTTP\//{status=$2} END{print status}' "$headers"
}

header() {  # header NAME: its value in the last response
    awk -v name="$(echo "$1" | tr 'A-Z' 'a-z')" '{sub(/\r$/, ""); i = index($0, ":")}
        i && tolower(substr($0, 1, i - 1)) == name {value = substr($0, i + 1);
        sub(/^ */, "", value)} END{print value}' "$headers"
}

if [ "$mode" = create ]; then
    status=$(call -X POST -H "Upload-Complete: ?0" -H "Upload-Length: $size" "$url")
    [ "$status" = 201 ] || { echo "POST $url: HTTP $status" >&2; exit 1; }
    session=$(header Location)
    case $session in /*) session="${url%%/v2/*}$session" ;; esac
    echo "location $session"
    offset=0
else
    session=$url
    status=$(call -I "$session")
    [ "$status" = 204 ] || { echo "HEAD $session: HTTP $status" >&2; exit 1; }
    offset=$(header Upload-Offset)
    echo "resume-offset $offset"
fi

while [ "$offset" -lt "$size" ]; do
    n=$((size - offset < chunk ? size - offset : chunk))
    complete='?0'
    [ $((offset + n)) -eq "$size" ] && complete='?1'
    # a Content-Length and no chunked encoding: the last PATCH must say where it ends
    status=$(dd if="$file" bs=1M iflag=skip_bytes,count_bytes skip="$offset" count="$n" \
                status=none |
             call -X PATCH -H "Expect:" -H "Transfer-Encoding:" -H "Content-Length: $n" \
                  -H "Content-Type: application/partial-upload" -H "Upload-Offset: $offset" \
                  -H "Upload-Complete: $complete" -T - "$session")
    [ "$status" = 204 ] || { echo "PATCH $session at $offset: HTTP $status" >&2; exit 1; }
    offset=$(header Upload-Offset)
    echo "offset $offset"
    if [ -n "$stop_at" ] && [ "$offset" -ge "$stop_at" ]; then break; fi
done
