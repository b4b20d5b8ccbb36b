"""Test images for the face detector, from scikit-image's bundled sample data (public domain or
"no known copyright restrictions", see Tests/Fixtures/faces/README.md), scaled down with ffmpeg:

    python3 -m pip download --no-deps -d /tmp/skimage scikit-image==0.26.0
    python3 tools/safety/make_face_fixtures.py /tmp/skimage/scikit_image-0.26.0-*.whl"""
import glob
import os
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "faces")
# name in the wheel → (fixture name, width)
IMAGES = {
    "astronaut.png": ("face-astronaut.jpg", 256),      # one human face (NASA portrait, public domain)
    "astronaut.png#mirror": ("face-astronaut-mirrored-small.jpg", 160),  # the same face, mirrored and smaller
    "chelsea.png": ("noface-cat.jpg", 256),           # a cat's face, not a human one
    "coffee.png": ("noface-coffee.jpg", 256),
    "rocket.jpg": ("noface-rocket.jpg", 256),
}


def main():
    wheel = sys.argv[1] if len(sys.argv) > 1 else (glob.glob("/tmp/skimage/scikit_image-*.whl") or [None])[0]
    if not wheel:
        sys.exit(__doc__)
    os.makedirs(OUT, exist_ok=True)
    with zipfile.ZipFile(wheel) as z, tempfile.TemporaryDirectory() as tmp:
        for source, (name, width) in IMAGES.items():
            member, _, variant = source.partition("#")
            path = os.path.join(tmp, member)
            with open(path, "wb") as f:
                f.write(z.read(f"skimage/data/{member}"))
            filters = f"scale={width}:-2" + (",hflip" if variant == "mirror" else "")
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", path, "-vf", filters, "-q:v", "3",
                            os.path.join(OUT, name)], check=True)
            print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == "__main__":
    main()
