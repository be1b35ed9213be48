"""turnd's admin /metrics as a dict: {"name" or "name{labels}": value}."""

import urllib.request
from typing import Dict, Optional


def scrape(port: int, api_key: Optional[str] = None, host: str = "127.0.0.1") -> Dict[str, float]:
    headers = {"Authorization": "Bearer " + api_key} if api_key else {}
    req = urllib.request.Request(f"http://{host}:{port}/metrics", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
    out: Dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out
