"""The base of every config section: unknown keys are errors (pydantic names the key)."""
from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
