# The Flask + gunicorn peer of bench/run: the guide's stack serving hello, protected and POST tasks.
#
# flask-jwt-extended checks the bearer token (signature, alg, exp, nbf, type; no
# revocation lookup), marshmallow validates the task, sqlite3 inserts it with the
# database in WAL mode and synchronous=NORMAL. No rate limiter, no request log.
import os
import sqlite3

from flask import Flask, jsonify, request
from flask_jwt_extended import JWTManager, get_jwt_identity, jwt_required
from marshmallow import RAISE, Schema, ValidationError, fields, validate

app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = os.environ["JWT_SECRET_KEY"]
JWTManager(app)
DATABASE = os.environ["BENCH_DB"]


class TaskSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(load_default="", validate=validate.Length(max=500))
    priority = fields.Integer(load_default=3, strict=True, validate=validate.Range(min=1, max=5))
    completed = fields.Boolean(load_default=False)


task_schema = TaskSchema()


# One connection per worker process, as the C responder and tasks-api keep theirs: closing
# the last connection to a WAL database checkpoints it, which would cost every request an fsync.
_connection = None


def db():
    global _connection
    if _connection is None:
        _connection = sqlite3.connect(DATABASE, timeout=5)
        _connection.execute("PRAGMA synchronous=NORMAL")
    return _connection


@app.get("/api/hello")
def hello():
    return jsonify(message="Hello, World!")


@app.get("/api/protected")
@jwt_required()
def protected():
    return jsonify(msg="Access granted to protected resource", user=get_jwt_identity())


@app.post("/api/tasks")
@jwt_required()
def create_task():
    try:
        data = task_schema.load(request.get_json())
    except ValidationError as err:
        return jsonify(error="Bad Request", message="Validation failed.", errors=err.messages), 400
    conn = db()
    cur = conn.execute(
        "INSERT INTO tasks (user_id, title, description, priority, completed, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ'), strftime('%Y-%m-%dT%H:%M:%fZ'))",
        (int(get_jwt_identity()), data["title"], data["description"], data["priority"], data["completed"]),
    )
    conn.commit()
    return jsonify(id=cur.lastrowid, **data), 201
