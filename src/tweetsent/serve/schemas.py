"""The JSON the API reads and writes (pydantic models; FastAPI builds the OpenAPI docs from them).

Request models are strict: a number where a string belongs, a string where a boolean belongs,
or an unknown field is a 422, never silently coerced.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[StrictStr] = Field(
        ..., min_length=1, description="Tweets to label (limits: see GET /v1/model)."
    )
    attention: StrictBool = Field(
        False, description="Add token/weight pairs (self-attention models only)."
    )


class TokenWeight(BaseModel):
    token: str
    weight: float = Field(..., description="Attention weight, averaged over hops; sums to 1.")


class PredictionOut(BaseModel):
    label: str
    probs: dict[str, float] = Field(..., description="A probability for every class.")
    empty: bool = Field(..., description="Nothing left after cleaning: the model's prior.")
    attention: list[TokenWeight] | None = Field(
        None, description="Only when requested and the model has self-attention."
    )


class PredictResponse(BaseModel):
    labels: list[str]
    attention_available: bool
    predictions: list[PredictionOut] = Field(..., description="One per text, in request order.")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class Status(BaseModel):
    status: str
