"""Expected failures as GraphQL types: every mutation returns its result or one of these."""

from __future__ import annotations

from typing import Any

import strawberry

from ledger.domain import errors


@strawberry.interface(description="预期内的失败:稳定的代码和给人看的说明")
class Problem:
    code: str
    message: str


@strawberry.type(description="积分不足")
class InsufficientPoints(Problem):
    pass


@strawberry.type(description="库存不足")
class OutOfStock(Problem):
    pass


@strawberry.type(description="找不到成员")
class UnknownMember(Problem):
    pass


@strawberry.type(description="找不到对象")
class NotFound(Problem):
    pass


@strawberry.type(description="任务名额已满")
class TaskFull(Problem):
    pass


@strawberry.type(description="当前状态不允许此操作")
class InvalidTransition(Problem):
    pass


@strawberry.type(description="请求编号已用于另一个不同的请求")
class IdempotencyKeyReused(Problem):
    pass


@strawberry.type(description="无权进行此操作")
class Forbidden(Problem):
    pass


@strawberry.type(description="输入无效")
class InvalidInput(Problem):
    pass


@strawberry.type(description="与已有记录冲突")
class Conflict(Problem):
    pass


@strawberry.type(
    description="终端不能取消这笔兑换:终端只能取消本终端当天(北京时间)办理的兑换"
    "(代码 NOT_THIS_KIOSK:另一台终端办理;CANCEL_DAY_OVER:不是当天)"
)
class KioskMayNotCancel(Problem):
    pass


@strawberry.type(description="不符合业务规则")
class Rejected(Problem):
    pass


_BY_ERROR: tuple[tuple[type[errors.LedgerError], type[Problem]], ...] = (
    (errors.InsufficientPoints, InsufficientPoints),
    (errors.OutOfStock, OutOfStock),
    (errors.UnknownMember, UnknownMember),
    (errors.NotFound, NotFound),
    (errors.TaskFull, TaskFull),
    (errors.InvalidTransition, InvalidTransition),
    (errors.IdempotencyKeyReused, IdempotencyKeyReused),
    (errors.InvalidInput, InvalidInput),
    (errors.UnknownCategory, InvalidInput),
    (errors.AlreadyExists, Conflict),
    (errors.ConcurrencyConflict, Conflict),
    (errors.AlreadyClaimed, Conflict),
    (errors.KioskMayNotCancel, KioskMayNotCancel),
)


def problem(error: errors.LedgerError) -> Any:
    """The GraphQL type of a domain error (translated once, here)."""
    for error_type, problem_type in _BY_ERROR:
        if isinstance(error, error_type):
            return problem_type(code=error.code, message=error.message)
    return Rejected(code=error.code, message=error.message)


def forbidden(what: str = "此操作") -> Forbidden:
    return Forbidden(code="FORBIDDEN", message=f"当前令牌无权进行{what}")
