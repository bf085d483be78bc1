"""Commands about residents' needs (群众点单): raised, accepted, dispatched, closed, rated."""

from __future__ import annotations

from uuid import UUID

from ledger.application.base import LedgerBase, Receipt, retried
from ledger.domain.errors import InvalidInput, NotResident
from ledger.domain.values import Context, Satisfaction
from ledger.domain.work import Need


class NeedCommands(LedgerBase):
    """点单 → 受理 → 派单 → 办结 → 回访: each step an event naming who took it."""

    def raise_need(
        self,
        community_id: UUID,
        raised_by: str | None,
        description: str,
        ctx: Context,
        *,
        grid_id: UUID | None = None,
        category: str | None = None,
        place: str | None = None,
        member_id: UUID | None = None,
        need_id: UUID | None = None,
    ) -> Receipt:
        """``member_id``: a member raising the need for themself, in the community where
        they live; the need is then raised by their name, in their grid unless told."""
        if member_id is not None:
            member = self.read_member(member_id)
            if member.community_id != community_id:
                raise NotResident(member_id=member_id, community_id=community_id)
            raised_by = member.name
            grid_id = grid_id or member.grid_id
        need = Need.create(
            community_id,
            grid_id,
            raised_by or "",
            description,
            category,
            ctx=ctx,
            id=need_id,
            place=place,
            member_id=member_id,
        )
        self.read_community(community_id).check_grid(grid_id)
        if need.category is not None:
            self.current_policy().category_class(need.category)
        return self._create(need)

    @retried
    def accept_need(self, need_id: UUID, ctx: Context) -> Receipt:
        need = self.get_need(need_id)
        need.accept(ctx)
        return self._done(need.id, need)

    @retried
    def dispatch_need(self, need_id: UUID, task_id: UUID, ctx: Context) -> Receipt:
        """派单 with a task already published (``publish_task`` with a need does both)."""
        need = self.get_need(need_id)
        task = self.read_task(task_id)
        if task.community_id != need.community_id:
            raise InvalidInput(reason="需求与任务不属于同一社区")
        if task.id in need.task_ids:
            raise InvalidInput(reason="该任务已派给这项需求")
        need.dispatch(task.id, ctx)
        return self._done(need.id, need)

    @retried
    def close_need(self, need_id: UUID, note: str, ctx: Context) -> Receipt:
        need = self.get_need(need_id)
        need.close(note, ctx)
        return self._done(need.id, need)

    @retried
    def rate_need(
        self, need_id: UUID, satisfaction: Satisfaction, comment: str | None, ctx: Context
    ) -> Receipt:
        need = self.get_need(need_id)
        need.revisit(satisfaction, comment, ctx)
        return self._done(need.id, need)
