#!/usr/bin/env bash
# End-to-end checks of the `moviola` executable: text → MP4 with the tiny fixture pipeline,
# bit-identical reruns, ffprobe's view of the file, replay to latents, and clear errors.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${MOVIOLA_BIN:-.build/debug/moviola}
fixture=Tests/Fixtures/tiny-wan-t2v
work=$(mktemp -d)
export MOVIOLA_DATA="$work/data"   # signing CA and audit log of this run only
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() {  # name, then a command that must succeed
  local name=$1; shift
  if "$@" >"$work/out.txt" 2>&1; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; cat "$work/out.txt"; fi
}
fails_with() {  # name, expected text, then a command that must fail with that text on one line
  local name=$1 text=$2; shift 2
  if "$@" >"$work/out.txt" 2>&1; then failed=$((failed + 1)); echo "FAIL: $name (succeeded)"; return; fi
  if grep -q -- "$text" "$work/out.txt" && [ "$(grep -c '^error:' "$work/out.txt")" -eq 1 ]; then passed=$((passed + 1))
  else failed=$((failed + 1)); echo "FAIL: $name"; cat "$work/out.txt"; fi
}

check "text to mp4" "$bin" generate "a red ball bounces" --model "$fixture" -o "$work/a.mp4" --frames 17 --size 64x48 --fps 16 --steps 3 --quiet --output-raw "$work/a.safetensors"
check "rerun" "$bin" generate "a red ball bounces" --model "$fixture" -o "$work/b.mp4" --frames 17 --size 64x48 --fps 16 --steps 3 --quiet --output-raw "$work/b.safetensors"
# Each file has its own ProduceID (watermark, metadata, manifest), so the generated pictures are compared.
check "bit-identical generated frames on a rerun" cmp "$work/a.safetensors" "$work/b.safetensors"
check "each output has its own ProduceID" bash -c "! cmp -s '$work/a.mp4' '$work/b.mp4'"
probe=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=codec_name,width,height,nb_read_frames,r_frame_rate,pix_fmt -of csv=p=0 "$work/a.mp4")
check "ffprobe: h264 64x48 yuv420p 16 fps 17 frames" test "$probe" = "h264,64,48,yuv420p,16/1,17"
check "duration and aspect" "$bin" generate "一辆红色的汽车从左向右行驶" --model "$fixture" -o "$work/c.mp4" --duration 1 --fps 8 --aspect 1:1 --resolution 48 --steps 2 --quiet
probe=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=width,height,nb_read_frames,r_frame_rate -of csv=p=0 "$work/c.mp4")
check "ffprobe: 48x48 8 fps 9 frames" test "$probe" = "48,48,8/1,9"
check "a size from the aspect ratio rounds to 16 without a notice" bash -c "out=\$('$bin' generate 'a red ball' --model '$fixture' -o '$work/r.mp4' --frames 5 --aspect 16:9 --resolution 48 --steps 1 2>&1) && ! grep -q 'not a multiple' <<<\"\$out\""
check "a typed --size that is not a multiple of 16 gets a notice" bash -c "'$bin' generate 'a red ball' --model '$fixture' -o '$work/s.mp4' --frames 5 --size 70x48 --steps 1 2>&1 | grep -q 'size 70x48 is not a multiple of 16; using 64x48'"
check "image to video" "$bin" generate "a red ball" --model "$fixture" --image Tests/Fixtures/tiny-wan-t2v-first-frame.png -o "$work/d.mp4" --frames 9 --size 64x32 --steps 2 --quiet --output-raw "$work/d.safetensors"
check "raw frames written" test -s "$work/d.safetensors"
check "tiled VAE decode" "$bin" generate "a red ball bounces" --model "$fixture" -o "$work/t.mp4" --frames 5 --size 96x64 --steps 2 --vae-tile 32 --quiet
check "extend a clip" "$bin" generate "the ball rolls on" --model "$fixture" --extend "$work/a.mp4" -o "$work/x.mp4" --frames 9 --steps 2 --quiet
probe=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=width,height,nb_read_frames -of csv=p=0 "$work/x.mp4")
check "ffprobe: extension keeps the size and appends 8 frames" test "$probe" = "64,48,25"
# Static pixel noise (±18 levels) in the clip being extended hides the default watermark amplitude: the
# renderer reads its own file back and writes it again with a stronger mark, which a verifier then finds.
ffmpeg -v error -y -f lavfi -i "nullsrc=s=448x256:r=16,geq=lum=128+18*(random(1)-0.5)*2:cb=128:cr=128" -frames:v 1 "$work/noise.png" \
  && ffmpeg -v error -y -loop 1 -i "$work/noise.png" -t 2 -r 16 -pix_fmt yuv420p -c:v libx264 -crf 12 "$work/noise.mp4"
check "content that hides the watermark gets a stronger one" bash -c "'$bin' generate 'the ball rolls on' --model '$fixture' --extend '$work/noise.mp4' -o '$work/n.mp4' --frames 9 --steps 2 2>&1 | grep -q 'watermark (read back, strengthened 2x'"
check "a verifier reads the strengthened watermark" bash -c "'$bin' verify '$work/n.mp4' | grep -q '^watermark  detected: ProduceID'"
check "upscaled, frame-interpolated output" "$bin" generate "a red ball bounces" --model "$fixture" -o "$work/u.mp4" --frames 9 --fps 8 --size 64x48 --output-resolution 96 --output-fps 16 --steps 2 --quiet
probe=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=width,height,nb_read_frames,r_frame_rate -of csv=p=0 "$work/u.mp4")
check "ffprobe: 128x96 16 fps 17 frames from 9 generated at 8 fps" test "$probe" = "128,96,16/1,17"
check "extend an upscaled clip" "$bin" generate "the ball rolls on" --model "$fixture" --extend "$work/u.mp4" -o "$work/ux.mp4" --frames 9 --fps 8 --resolution 48 --output-resolution 96 --steps 2 --quiet
probe=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=width,height,nb_read_frames,r_frame_rate -of csv=p=0 "$work/ux.mp4")
check "ffprobe: extension at the clip's size and rate (17 + 16 frames)" test "$probe" = "128,96,16/1,33"
check "replay to latents" "$bin" generate --model Tests/Fixtures/tiny-wan-pipeline --prompt-embeds Tests/Fixtures/tiny-wan-pipeline-embeds.safetensors --initial-noise Tests/Fixtures/tiny-wan-pipeline-noise.safetensors --steps 4 --scheduler unipc --output-latents "$work/l.safetensors" --quiet
check "replayed latents match diffusers" python3 - "$work/l.safetensors" <<'PY'
import json, struct, sys
def read(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]; header = json.loads(f.read(n)); data = f.read()
    e = header[name]; b, end = e["data_offsets"]
    return struct.unpack("<%df" % ((end - b) // 4), data[b:end])
a = read(sys.argv[1], "latents"); b = read("Tests/Fixtures/tiny-wan-pipeline-expected.safetensors", "unipc")
err = (sum((x - y) ** 2 for x, y in zip(a, b)) / sum(y * y for y in b)) ** 0.5
sys.exit(0 if err <= 1e-4 else 1)
PY

"$bin" models --model "$fixture" >"$work/models.txt" 2>&1
check "models says when no card is present" grep -q "no moviola.json" "$work/models.txt"
check "models lists the components" grep -q "transformer=WanTransformer3DModel" "$work/models.txt"

printf 'not an image' > "$work/broken.png"
fails_with "corrupt image" "broken.png" "$bin" generate "a ball" --model "$fixture" --image "$work/broken.png" -o "$work/e.mp4" --frames 5 --size 64x48 --steps 1 --quiet
fails_with "unreadable model folder" "model folder not found" "$bin" generate "a ball" --model "$work/nowhere" -o "$work/e.mp4"
fails_with "impossible size" "--size must be WIDTHxHEIGHT" "$bin" generate "a ball" --model "$fixture" --size 0x48 -o "$work/e.mp4"
fails_with "size below one step" "smaller than one" "$bin" generate "a ball" --model "$fixture" --size 8x8 -o "$work/e.mp4"
fails_with "empty prompt" "give a prompt" "$bin" generate "  " --model "$fixture" -o "$work/e.mp4"
check "no partial file left" test ! -e "$work/e.mp4"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
