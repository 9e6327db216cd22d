"""The stand-ins' one command-line entry point: `python -m nativeval.harness_ext.testing serve ...` prints its
URL on one line, answers like the API it stands in for, and ends cleanly on SIGTERM; the study runner starts
its stand-ins that way and ends them with the run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

import pytest

from nativeval.harness_ext.study.entry_points import TESTING_MODULE


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


@pytest.mark.parametrize("service", ["judge", "google"])
def test_serve_prints_its_url_answers_and_ends_on_sigterm(service):
    proc = subprocess.Popen(
        [sys.executable, "-m", TESTING_MODULE, "serve", service, "--port", "0", "--model", "j"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        if service == "judge":
            prompt = "[The Start of Assistant's Answer]\nhello\n[The End of Assistant's Answer]"
            reply = _post(
                f"{url}/chat/completions", {"model": "j", "messages": [{"role": "user", "content": prompt}]}
            )
            assert reply["model"] == "j" and "Rating: [[" in reply["choices"][0]["message"]["content"]
        else:
            reply = _post(f"{url}/language/translate/v2", {"q": ["hello"], "target": "ru"})
            assert reply["data"]["translations"][0]["translatedText"] != "hello"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_the_runner_ends_its_stand_ins_with_the_run(tmp_path):
    from nativeval.harness_ext.study.kinds import StandIn
    from nativeval.harness_ext.study.stand_ins import StandInServers

    servers = StandInServers(tmp_path / "logs")
    judge = StandIn("j", "judge", "j", "OPENAI_API_KEY", "judge for 'j'", "deterministic")
    url, started = servers.url(judge)
    assert started and servers.url(judge) == (url, False)  # one server per key
    servers.stop_all()
    with pytest.raises(OSError):  # URLError: nothing listens there any more
        _post(f"{url}/chat/completions", {"model": "j", "messages": [{"role": "user", "content": "hi"}]})
