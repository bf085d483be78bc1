"""One tree of domain errors, each with a stable code and a message for people (in Chinese)."""

from __future__ import annotations

from typing import Any, ClassVar


class LedgerError(Exception):
    """Base of every error the ledger reports on purpose.

    ``code`` is stable and meant for programs; ``message`` is for people.
    ``details`` carries the data the message was made from.
    """

    code: ClassVar[str] = "LEDGER_ERROR"
    template: ClassVar[str] = "账本操作失败"

    def __init__(self, **details: Any) -> None:
        self.details = details
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return self.template.format(**self.details)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# --- things that do not exist -------------------------------------------------


class NotFound(LedgerError):
    code = "NOT_FOUND"
    template = "找不到对象:{id}"


class UnknownStreet(NotFound):
    code = "UNKNOWN_STREET"
    template = "找不到街道:{id}"


class UnknownCommunity(NotFound):
    code = "UNKNOWN_COMMUNITY"
    template = "找不到社区:{id}"


class UnknownGrid(NotFound):
    code = "UNKNOWN_GRID"
    template = "社区中没有此网格:{id}"


class UnknownUnit(NotFound):
    code = "UNKNOWN_UNIT"
    template = "找不到单位:{id}"


class UnknownMember(NotFound):
    code = "UNKNOWN_MEMBER"
    template = "找不到成员:{id}"


class UnknownNeed(NotFound):
    code = "UNKNOWN_NEED"
    template = "找不到群众需求:{id}"


class UnknownTask(NotFound):
    code = "UNKNOWN_TASK"
    template = "找不到服务任务:{id}"


class UnknownService(NotFound):
    code = "UNKNOWN_SERVICE"
    template = "找不到服务纪实:{id}"


class UnknownItem(NotFound):
    code = "UNKNOWN_ITEM"
    template = "积分超市中找不到商品:{id}"


class UnknownRedemption(NotFound):
    code = "UNKNOWN_REDEMPTION"
    template = "找不到兑换记录:{id}"


class UnknownCategory(LedgerError):
    code = "UNKNOWN_CATEGORY"
    template = "积分规则中没有服务类别“{category}”"


# --- input that cannot be right ----------------------------------------------


class InvalidInput(LedgerError):
    code = "INVALID_INPUT"
    template = "输入无效:{reason}"


class InvalidPoints(InvalidInput):
    code = "INVALID_POINTS"
    template = "积分数值无效:{value}(须为大于 0、不超过 {limit} 且最多一位小数的数)"


class InvalidQuantity(InvalidInput):
    code = "INVALID_QUANTITY"
    template = "数量无效:{value}(须为 1 到 {limit} 之间的整数)"


class InvalidTimeRange(InvalidInput):
    code = "INVALID_TIME_RANGE"
    template = "时间无效:结束时间 {end} 不晚于开始时间 {start}"


class NaiveDatetime(InvalidInput):
    code = "NAIVE_DATETIME"
    template = "时间 {value} 缺少时区"


class OutOfRange(InvalidInput):
    code = "OUT_OF_RANGE"
    template = "{field} {value} 超出支持的范围({low} 至 {high})"


class ExpiryInFuture(InvalidInput):
    code = "EXPIRY_IN_FUTURE"
    template = (
        "过期计算时间 {at} 晚于账本当前时间 {clock}:积分只能按已经到来的时刻过期,本次未作任何变动"
    )


class InvalidText(InvalidInput):
    """Text the ledger cannot keep: refused with the field's name, never stored."""

    code = "INVALID_TEXT"
    template = "{field}无效:{reason}"


class EmptyText(InvalidText):
    code = "EMPTY_TEXT"
    template = "{field}不能为空"


class TextTooLong(InvalidText):
    code = "TEXT_TOO_LONG"
    template = "{field}不能超过 {limit} 个字(现有 {length} 个)"


class ForbiddenCharacter(InvalidText):
    code = "FORBIDDEN_CHARACTER"
    template = "{field}包含不允许的字符 {character}(控制字符、代理码位、非字符或换行)"


class InvalidIdentifier(InvalidText):
    code = "INVALID_IDENTIFIER"
    template = "{field}须为 1 到 {limit} 个英文字母、数字或 ._:- 字符"


class TooManyItems(InvalidInput):
    code = "TOO_MANY_ITEMS"
    template = "{field}最多 {limit} 项(现有 {count} 项)"


# --- a state that does not allow the command ---------------------------------


class InvalidTransition(LedgerError):
    code = "INVALID_TRANSITION"
    template = "当前状态“{state}”下不能{action}"


class NeedAlreadyClosed(InvalidTransition):
    code = "NEED_ALREADY_CLOSED"
    template = "该需求已办结,不能再{action}"


class NeedNotClosed(InvalidTransition):
    code = "NEED_NOT_CLOSED"
    template = "该需求尚未办结,办结后才能评价是否满意"


class AlreadyExists(LedgerError):
    code = "ALREADY_EXISTS"
    template = "对象已存在:{id}"


class DuplicateMember(AlreadyExists):
    code = "DUPLICATE_MEMBER"
    template = "该身份证号已登记为成员 {id}"


class AlreadyReported(InvalidTransition):
    code = "ALREADY_REPORTED"
    template = "已于 {on} 向该社区报到"


class NotPaired(LedgerError):
    code = "NOT_PAIRED"
    template = "单位 {unit_id} 未与社区 {community_id} 结对,不能报到"


class NotResident(NotFound):
    """A member of another community: to that community, as good as unknown."""

    code = "NOT_RESIDENT"
    template = "成员 {member_id} 不居住在社区 {community_id}"


class NotServingHere(NotResident):
    code = "NOT_SERVING_HERE"
    template = (
        "成员 {member_id} 不居住在社区 {community_id},所在单位也未与该社区结对,不能认领其任务"
    )


class TaskFull(LedgerError):
    code = "TASK_FULL"
    template = "任务名额已满(共 {capacity} 人)"


class AlreadyClaimed(LedgerError):
    code = "ALREADY_CLAIMED"
    template = "成员 {member_id} 已认领此任务"


class InsufficientPoints(LedgerError):
    code = "INSUFFICIENT_POINTS"
    template = "积分不足:需要 {required} 分,可用 {available} 分"


class OutOfStock(LedgerError):
    code = "OUT_OF_STOCK"
    template = "“{name}”库存不足:需要 {requested} 件,库存 {stock} 件"


class ItemNotInStore(NotFound):
    code = "ITEM_NOT_IN_STORE"
    template = "商品 {item_id} 不属于本社区积分超市"


class IdempotencyKeyReused(LedgerError):
    code = "IDEMPOTENCY_KEY_REUSED"
    template = "请求编号 {key} 已用于另一个不同的请求"


class KioskMayNotCancel(LedgerError):
    """A kiosk cancels only its own redemptions, on the day they were made; anything
    else is a community worker's."""

    code = "KIOSK_MAY_NOT_CANCEL"
    template = "本终端不能取消这笔兑换,请联系社区工作人员取消"


class NotThisKiosk(KioskMayNotCancel):
    code = "NOT_THIS_KIOSK"
    template = "这笔兑换由另一台终端办理,本终端只能取消自己办理的兑换;请联系社区工作人员取消"


class CancelDayOver(KioskMayNotCancel):
    code = "CANCEL_DAY_OVER"
    template = "这笔兑换办理于 {day},终端只能取消当天(北京时间)办理的兑换;请联系社区工作人员取消"


# --- times the ledger can trust (服务纪实) -------------------------------------------


class ClientTimeRefused(LedgerError):
    code = "CLIENT_TIME_REFUSED"
    template = (
        "成员本人签到签退以服务器时间为准:所给{field} {at} 与服务器时间 {clock} "
        "相差超过 {tolerance} 秒;补录时间请由社区工作人员按签到表录入"
    )


class TimeInFuture(LedgerError):
    code = "TIME_IN_FUTURE"
    template = "{field} {at} 晚于服务器当前时间 {clock} 超过 {tolerance} 秒,不能预先登记"


class OutsideTaskWindow(LedgerError):
    code = "OUTSIDE_TASK_WINDOW"
    template = "{field} {at} 不在任务时间内:{rule}(任务 {start} 至 {end})"


class ServicesOverlap(LedgerError):
    code = "SERVICES_OVERLAP"
    template = "该成员的另一项服务 {other} 从 {start} 到 {end},服务时间不能重叠"


class AlreadyReviewed(AlreadyExists):
    code = "ALREADY_REVIEWED"
    template = "成员 {member_id} 的 {year} 年度评价已经作出"


class NotEligibleForReview(LedgerError):
    code = "NOT_ELIGIBLE_FOR_REVIEW"
    template = "成员 {member_id} 不能由该社区评价:{reason}"


class InvalidPolicy(InvalidInput):
    code = "INVALID_POLICY"
    template = "积分规则无效:{reason}"


class ConcurrencyConflict(LedgerError):
    code = "CONCURRENCY_CONFLICT"
    template = "数据正被同时修改,已重试 {attempts} 次仍未成功,请稍后再试"


# --- the service loop on the member's phone ---------------------------------------


class ClaimWithdrawalTooLate(InvalidTransition):
    code = "CLAIM_WITHDRAWAL_TOO_LATE"
    template = "任务已于 {start} 开始,不能再退出;如有变动请联系社区工作人员"


class TaskAlreadyClaimed(InvalidTransition):
    code = "TASK_ALREADY_CLAIMED"
    template = "已有成员认领此任务,不能再修改;如需变动请取消任务后重新发布"


class SignInCodeInvalid(LedgerError):
    """Unknown, used or expired: all told alike, so a guess learns nothing."""

    code = "SIGN_IN_CODE_INVALID"
    template = "登录码无效、已使用或已过期,请向社区工作人员重新领取"


class UnknownDevice(NotFound):
    code = "UNKNOWN_DEVICE"
    template = "找不到该成员的登录设备:{id}"


class SiteCodeRequired(LedgerError):
    code = "SITE_CODE_REQUIRED"
    template = "本社区要求现场签到:请扫描或输入服务现场出示的签到码"


class SiteCodeInvalid(LedgerError):
    code = "SITE_CODE_INVALID"
    template = "签到码不正确或已过期:请扫描或输入服务现场正在显示的签到码"


class SiteCodeUsed(SiteCodeInvalid):
    template = "这个签到码已用过:请扫描或输入服务现场刚刚更新的签到码"


class TooFarFromSite(LedgerError):
    code = "TOO_FAR_FROM_SITE"
    template = "所在位置距服务地点约 {distance} 米,超过规定的 {limit} 米,请到现场后再签到"


class SignInCodeShownOnce(InvalidTransition):
    """A retried request that issued a code: the code was shown once and is not kept."""

    code = "SIGN_IN_CODE_SHOWN_ONCE"
    template = "这次请求已发放过登录码(只显示一次);如未记下,请重新发放一个"


class UnreadableRecord(LedgerError):
    """An aggregate whose stored history the code cannot rebuild (an event written past
    the commands' checks): its commands are refused until an operator mends it; every
    other aggregate goes on (``ledger quarantine list`` names it)."""

    code = "RECORD_UNREADABLE"
    template = (
        "这条记录的历史中有一个无法读取的事件,修复之前不能对它办理任何操作;"
        "请联系管理员(ledger quarantine list 可查到它)"
    )
