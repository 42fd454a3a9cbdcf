"""The HTTP interfaces: the AWS JSON 1.0 protocol at `POST /` and the REST API under `/v1`.

Owns: nothing but the public entry point; see api/app.py. Must never: hold semantics (the
service, engine/service.py, does).
"""

from api.app import create_app

__all__ = ["create_app"]
