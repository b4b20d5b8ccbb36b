#!/usr/bin/env bash
# Provenance end to end: every generated file carries the visible label, the signed AIGC
# metadata, the watermark and a C2PA manifest that the reference validator (c2pa-python) reads
# as Trusted with our root; tampering, remuxing and foreign files give the right verdicts.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${MOVIOLA_BIN:-.build/debug/moviola}
fixture=Tests/Fixtures/tiny-wan-t2v
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MOVIOLA_DATA="$work/data"
passed=0
failed=0
check() {  # name, then a command that must succeed
  local name=$1; shift
  if "$@" >"$work/out.txt" 2>&1; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; cat "$work/out.txt"; fi
}
json_is() {  # name, file, python expression over `j` that must be true
  local name=$1 file=$2 expr=$3
  check "$name" python3 -c "import json,sys; j=json.load(open('$file')); assert $expr, j" 
}

check "ca init" "$bin" ca init --organization "Moviola CI"
"$bin" ca root > "$work/root.pem"
check "ca root prints a PEM certificate" grep -q "BEGIN CERTIFICATE" "$work/root.pem"
check "ca init refuses to overwrite" bash -c "! '$bin' ca init 2>/dev/null"

# The bundled model with its defaults (the quick start): its smooth frames are what the watermark is made for;
# the fixture pipeline's random weights give full-amplitude noise.
check "generate with the bundled model's defaults" "$bin" generate "three yellow stars rotate slowly on a night sky" -o "$work/a.mp4" --quiet
probe=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=width,height,nb_read_frames,r_frame_rate -of csv=p=0 "$work/a.mp4")
check "default clip: 5 s at 16 fps, 896x512" test "$probe" = "896,512,16/1,81"
# The bundled model says what it cannot do yet, and warns about prompts outside its vocabulary.
"$bin" models > "$work/models.txt" 2>&1
check "models states the bundled model's limits" grep -q "^limits: a CPU-trained preview" "$work/models.txt"
"$bin" generate "a red ball" -o "$work/l.mp4" --frames 5 --steps 1 > "$work/limits.txt" 2>&1
check "generate states the bundled model's limits" grep -q "limits of this model: a CPU-trained preview" "$work/limits.txt"
check "an in-vocabulary prompt gets no vocabulary warning" bash -c "! grep -q 'knows none' '$work/limits.txt'"
check "an out-of-vocabulary prompt gets a warning" bash -c "'$bin' generate 'a portrait of a violinist' -o '$work/o.mp4' --frames 5 --steps 1 2>&1 | grep -q 'knows none of the objects, colours or backgrounds'"
python3 tools/provenance/c2pa_check.py "$work/a.mp4" "$work/root.pem" > "$work/c2pa.json"
json_is "c2pa-python: Trusted with our root, no failures" "$work/c2pa.json" "j['state'] == 'Trusted' and j['failures'] == []"
json_is "c2pa-python: trainedAlgorithmicMedia" "$work/c2pa.json" "j['digitalSourceType'].endswith('trainedAlgorithmicMedia')"
python3 tools/provenance/c2pa_check.py "$work/a.mp4" > "$work/c2pa-untrusted.json"
json_is "c2pa-python: Valid (untrusted) without our root" "$work/c2pa-untrusted.json" "j['state'] == 'Valid' and j['failures'] == ['signingCredential.untrusted']"

python3 - "$work/a.mp4" "$work/tampered.mp4" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
offset = 0
while offset < len(data):
    size, kind = struct.unpack(">I4s", data[offset:offset + 8])
    if kind == b"mdat":
        data[offset + size // 2] ^= 0x01
    offset += size
open(sys.argv[2], "wb").write(data)
PY
python3 tools/provenance/c2pa_check.py "$work/tampered.mp4" "$work/root.pem" > "$work/c2pa-tampered.json"
json_is "c2pa-python: one byte in mdat makes it Invalid (bmffHash.mismatch)" "$work/c2pa-tampered.json" "j['state'] == 'Invalid' and 'assertion.bmffHash.mismatch' in j['failures']"

tags=$(ffprobe -v error -show_entries format_tags=AIGC -of default=nw=1:nk=1 "$work/a.mp4")
check "ffprobe reads the AIGC label" python3 -c "import json,sys; a=json.loads(sys.argv[1])['AIGC']; assert a['Label']=='1' and a['ProduceID'].startswith('MV-') and a['ReservedCode1'], a" "$tags"
produce_id=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['AIGC']['ProduceID'])" "$tags")

"$bin" verify "$work/a.mp4" --json > "$work/v.json" 2>"$work/v.err"
json_is "verify: Trusted, AIGC signature valid, watermark names the ProduceID" "$work/v.json" \
  "j['c2pa']['state'] == 'Trusted' and j['aigc']['signatureValid'] and j['aigc']['produceId'] == '$produce_id' and j['watermark']['detected'] and j['watermark']['produceId'] == '$produce_id'"
"$bin" verify "$work/tampered.mp4" --json > "$work/vt.json" 2>/dev/null
json_is "verify: tampered file is Invalid with bmffHash.mismatch" "$work/vt.json" "j['c2pa']['state'] == 'Invalid' and 'assertion.bmffHash.mismatch' in j['c2pa']['failures']"

ffmpeg -v error -y -i "$work/a.mp4" -c copy "$work/remux.mp4"
"$bin" verify "$work/remux.mp4" --json > "$work/vr.json" 2>/dev/null
json_is "verify after ffmpeg -c copy: no manifest, watermark still names the ProduceID" "$work/vr.json" \
  "j['c2pa']['state'] == 'Absent' and j['watermark']['detected'] and j['watermark']['produceId'] == '$produce_id'"
ffmpeg -v error -y -i "$work/a.mp4" -c:v libx264 -crf 23 "$work/reencoded.mp4"
"$bin" verify "$work/reencoded.mp4" --json > "$work/ve.json" 2>/dev/null
json_is "verify after re-encoding at CRF 23: watermark still names the ProduceID" "$work/ve.json" "j['watermark']['produceId'] == '$produce_id'"

ffmpeg -v error -y -f lavfi -i testsrc2=size=256x144:rate=16 -frames:v 33 -pix_fmt yuv420p "$work/other.mp4"
"$bin" verify "$work/other.mp4" --json > "$work/vo.json" 2>/dev/null
json_is "verify on an unrelated video: no manifest, no watermark" "$work/vo.json" "j['c2pa']['state'] == 'Absent' and not j['watermark']['detected']"
printf 'just text' > "$work/notes.txt"
check "verify on a non-video file: one clear error" bash -c "! '$bin' verify '$work/notes.txt' 2>'$work/nv.err' && grep -q 'is not a video' '$work/nv.err'"

check "label off (operator setting)" "$bin" generate "a red ball" --model "$fixture" -o "$work/nolabel.mp4" --frames 17 --size 128x96 --steps 1 --quiet --operator-disable-visible-label
"$bin" verify "$work/nolabel.mp4" --json > "$work/vn.json" 2>/dev/null
json_is "manifest records the label as off" "$work/vn.json" "j['c2pa']['visibleLabel'] is False and j['c2pa']['state'] == 'Trusted'"
check "audit log records the label as off" grep -q '"event":"visible_label_disabled"' "$MOVIOLA_DATA/audit.log"
check "label text without a glyph is refused" bash -c "! '$bin' generate 'a ball' --model '$fixture' -o '$work/x.mp4' --frames 5 --size 64x48 --steps 1 --label-text 'ИИ' 2>'$work/g.err' && grep -q 'no glyph' '$work/g.err'"

echo "provenance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
