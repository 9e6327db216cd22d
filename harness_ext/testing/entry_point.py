"""The stand-ins' one command-line entry point, for the study runner, the demo and benchmarks.

``python -m nativeval.harness_ext.testing serve judge|echo|google [--port 0] [--model NAME] [--latency S]``
starts a loopback server, prints its base URL on one line (an OpenAI-compatible ``.../v1``, or the Google
Translate endpoint's root) and serves until it gets SIGTERM or SIGINT:

- ``judge``: the deterministic stand-in judge (``openai_stub.deterministic_judge``), answering as ``--model``;
- ``echo``: replies with the last user message;
- ``google``: Google Translate v2/v3 with ``translate_stubs.fake_translate``'s letter mapping.

``python -m nativeval.harness_ext.testing toy-model --out DIR [--seed N]`` builds the random-init toy model
(``toymodel.build_tiny_model``) and prints its folder.
"""

from __future__ import annotations

import argparse
import signal
import threading

SERVICES = ("judge", "echo", "google")


def serve(service: str, port: int, model: str | None, latency: float) -> None:
    from nativeval.harness_ext.testing.openai_stub import OpenAIStub, deterministic_judge, echo_responder
    from nativeval.harness_ext.testing.translate_stubs import GoogleTranslateStub

    if service == "google":
        stub: OpenAIStub = GoogleTranslateStub(latency=latency, port=port)
    else:
        responder = deterministic_judge if service == "judge" else echo_responder
        stub = OpenAIStub(responder, latency=latency, port=port, model=model or "stub-model")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    stub.start()
    try:
        print(stub.base_url, flush=True)
        stop.wait()
    finally:
        stub.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nativeval.harness_ext.testing", description="nativeval's stand-ins (tests, demo)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    server = sub.add_parser("serve", help="serve a stand-in on 127.0.0.1; prints its URL, runs until killed")
    server.add_argument("service", choices=SERVICES)
    server.add_argument("--port", type=int, default=0, help="0: any free port (default)")
    server.add_argument("--model", help="the model name a judge or echo server answers as")
    server.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    toy = sub.add_parser("toy-model", help="build the random-init toy model (its outputs are noise)")
    toy.add_argument("--out", required=True)
    toy.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.service, args.port, args.model, args.latency)
    else:
        from nativeval.harness_ext.testing.toymodel import build_tiny_model

        print(f"toy model (random init, seed {args.seed}) in {build_tiny_model(args.out, seed=args.seed)}")
    return 0
