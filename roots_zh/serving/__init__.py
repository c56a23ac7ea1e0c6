"""HTTP serving: ``serve(task, model, port=...)``; fastapi/uvicorn are imported only when serving."""
from .admission import Admission
from .app import ServerSettings, create_app, parse_request, serve
from .batching import Closed, DynamicBatcher, QueueFull
from .cli import add_arguments, main, run_from_args
from .tasks import TASKS, build_handler, register_task
from .worker import ProcessHandler, WorkerError

__all__ = ["Admission", "ServerSettings", "create_app", "parse_request", "serve", "Closed", "DynamicBatcher",
           "QueueFull", "add_arguments", "main", "run_from_args", "TASKS", "build_handler", "register_task",
           "ProcessHandler", "WorkerError"]
