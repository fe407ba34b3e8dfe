"""The kiosk service: an HTTP API, a WebSocket for listening, and the kiosk's web page.

`create_app(runtime)` (app.py) builds the FastAPI app around a Runtime (runtime.py);
`voicefaq serve` runs it on uvicorn. FastAPI is imported only when the service is used.
"""
