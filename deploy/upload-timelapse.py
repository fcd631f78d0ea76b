#!/usr/bin/env python3
"""Upload a finished timelapse MP4 to layerwatch with tus 1.0 (resumable), for the camera Pi.

    upload-timelapse.py --url https://printer.example.com --printer 1 --token lwd_... print.mp4 [--job-id 42]

The token is the printer's device token (Settings > Printers > Tokens); LAYERWATCH_TOKEN may hold it instead
of --token, so it does not show in `ps`. The file goes up in 5 MiB chunks. When the link drops, the script
waits, asks the server how much arrived (HEAD) and carries on from there; it gives up after --tries failures
in a row. The upload's address is kept in FILE.mp4.tus, so running the script again after a reboot resumes
the same upload instead of starting over. Needs Python 3 and requests (Debian: python3-requests).
Exit status: 0 uploaded, 1 gave up or refused, 2 bad arguments.
"""

import argparse
import base64
import os
import sys
import time
from urllib.parse import urljoin

import requests

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 5 * 1024 * 1024  # The server takes at most 8 MiB per request.
TIMEOUT = (10, 60)  # connect, read (seconds)


class Refused(Exception):
    """The server said no in a way retrying will not change (auth, size, quota)."""


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def create(session, args, size):
    meta = [f"filename {b64(os.path.basename(args.file))}", f"filetype {b64('video/mp4')}"]
    if args.job_id:
        meta.append(f"job_id {b64(str(args.job_id))}")
    endpoint = urljoin(args.url.rstrip("/") + "/", f"api/printers/{args.printer}/timelapses")
    r = session.post(
        endpoint,
        headers={**TUS, "Upload-Length": str(size), "Upload-Metadata": ",".join(meta)},
        timeout=TIMEOUT,
    )
    if r.status_code != 201:
        raise Refused(f"create: HTTP {r.status_code} {r.text.strip()[:200]}")
    return urljoin(endpoint, r.headers["Location"])


def offset_of(session, location):
    """Where the server stands, or None when it no longer knows the upload."""
    r = session.head(location, headers=TUS, timeout=TIMEOUT)
    if r.status_code in (404, 410):
        return None
    if r.status_code in (401, 403):
        raise Refused(f"HEAD: HTTP {r.status_code}")
    r.raise_for_status()
    return int(r.headers["Upload-Offset"])


def send_from(session, location, f, offset, size):
    """PATCHes chunk after chunk from `offset`; returns the final offset."""
    while offset < size:
        f.seek(offset)
        chunk = f.read(CHUNK)
        r = session.patch(
            location,
            data=chunk,
            headers={**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)},
            timeout=TIMEOUT,
        )
        if r.status_code == 409:  # Someone else's view of the offset was newer: ask again.
            offset = offset_of(session, location)
            if offset is None:
                raise Refused("the server forgot the upload")
            continue
        if r.status_code in (401, 403, 404, 413, 415):
            raise Refused(f"PATCH: HTTP {r.status_code} {r.text.strip()[:200]}")
        r.raise_for_status()
        offset = int(r.headers["Upload-Offset"])
        print(f"{offset}/{size} bytes", file=sys.stderr)
    return offset


def upload(args):
    size = os.path.getsize(args.file)
    state = args.file + ".tus"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {args.token}"
    location = None
    if os.path.exists(state):
        with open(state, encoding="utf-8") as s:
            location = s.read().strip() or None
    failures = 0
    with open(args.file, "rb") as f:
        while True:
            try:
                offset = offset_of(session, location) if location else None
                if offset is None:
                    location = create(session, args, size)
                    with open(state, "w", encoding="utf-8") as s:
                        s.write(location)
                    offset = 0
                if send_from(session, location, f, offset, size) == size:
                    break
            except (requests.ConnectionError, requests.Timeout, requests.HTTPError) as e:
                failures += 1
                if failures >= args.tries:
                    raise Refused(f"gave up after {failures} failures: {e}") from e
                print(f"link trouble ({e.__class__.__name__}); retrying in {args.retry_delay} s", file=sys.stderr)
                time.sleep(args.retry_delay)
    os.remove(state)
    print(f"uploaded {args.file} ({size} bytes) to {location}", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description="Upload a timelapse MP4 to layerwatch (tus 1.0, resumable).")
    p.add_argument("--url", required=True, help="layerwatch base URL, e.g. https://printer.example.com")
    p.add_argument("--printer", required=True, type=int, help="the printer's id")
    p.add_argument("--token", default=os.environ.get("LAYERWATCH_TOKEN"), help="the printer's device token")
    p.add_argument("--job-id", type=int, help="the job (print) the video belongs to, if known")
    p.add_argument("--tries", type=int, default=20, help="failures in a row before giving up (default 20)")
    p.add_argument("--retry-delay", type=float, default=15, help="seconds to wait after a failure (default 15)")
    p.add_argument("file", help="the finished MP4")
    args = p.parse_args()
    if not args.token:
        p.error("give --token or set LAYERWATCH_TOKEN")
    if not os.path.isfile(args.file):
        p.error(f"no such file: {args.file}")
    try:
        upload(args)
    except Refused as e:
        print(f"upload failed: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
