"""A printer's RTSPS camera (X1, P2S, H2, X2D: port 322 on a real printer), for tests and the benchmark.

GStreamer's own RTSP server (Debian: gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-{base,good,ugly},
glib-networking, python3-gi): RTSP over TLS with the printer's certificate, Basic auth for user `bblp` and the
access code, H.264 over RTP interleaved on the TCP connection at /streaming/live/1, as the printers serve it.

Environment: RTSPS_CERT_PEM (certificate and key, PEM), RTSPS_ACCESS_CODE, RTSPS_WIDTH, RTSPS_HEIGHT,
RTSPS_FPS. Prints `port <n>` once listening, then `clients <n>` whenever the number of connected clients
changes. Exits on SIGTERM or when its stdin closes (the test that started it is gone).
"""

import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gio, GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

ROLE = "bblp"


def main() -> None:
    Gst.init(None)
    width = int(os.environ.get("RTSPS_WIDTH", "640"))
    height = int(os.environ.get("RTSPS_HEIGHT", "360"))
    fps = int(os.environ.get("RTSPS_FPS", "10"))

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service("0")

    auth = GstRtspServer.RTSPAuth()
    # A certificate on the auth object makes every connection TLS: rtsps, as on the printer.
    auth.set_tls_certificate(Gio.TlsCertificate.new_from_pem(os.environ["RTSPS_CERT_PEM"], -1))
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", ROLE)
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic("bblp", os.environ["RTSPS_ACCESS_CODE"]), token)
    server.set_auth(auth)

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball "
        f"! video/x-raw,width={width},height={height},framerate={fps}/1 ! videoconvert "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps * 2} "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    # One encoder for every client, as a camera has one sensor.
    factory.set_shared(True)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
    factory.add_role_from_structure(
        Gst.Structure.new_from_string(
            f"{ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )
    )
    server.get_mount_points().add_factory("/streaming/live/1", factory)

    clients = [0]

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def on_closed(_client: GstRtspServer.RTSPClient) -> None:
        clients[0] -= 1
        say(f"clients {clients[0]}")

    def on_client(_server: GstRtspServer.RTSPServer, client: GstRtspServer.RTSPClient) -> None:
        clients[0] += 1
        client.connect("closed", on_closed)
        say(f"clients {clients[0]}")

    server.connect("client-connected", on_client)
    server.attach(None)

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, lambda *_: loop.quit())
    say(f"port {server.get_bound_port()}")
    loop.run()


if __name__ == "__main__":
    main()
