import threading

import azure.functions as func


def main(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> None:
    on_main = threading.current_thread() is threading.main_thread()
    text = f"rest={req.route_params.get('rest', '')};main_thread={on_main}"
    res.set(func.HttpResponse(text, status_code=201))
