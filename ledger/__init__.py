"""Event-sourced volunteer points ledger (党建引领基层治理 志愿服务积分账本)."""
