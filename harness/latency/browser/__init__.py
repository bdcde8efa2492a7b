"""The `browser` hardware target: release models run by ONNX Runtime Web (WASM) in a Web Worker in
headless Chromium, which is where DAWG runs them (docs/latency.md, "Browser").

assets.py (Chromium and the npm runtime), server.py (127.0.0.1, cross-origin isolated),
runner.py (Playwright drives one worker per measurement), page/ (the HTML and JS it runs),
wire_bytes.py, parity.py, measure.py (the rows).
"""
