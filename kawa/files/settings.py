"""`UploadSettings` and `StorageSettings`: the knobs of the files package, nested into `kawa.settings.Settings`
as `upload` (env `KAWA_UPLOAD__*`) and `storage` (env `KAWA_STORAGE__*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class UploadSettings(BaseModel):
    """Limits for `POST /v1/files/upload` — the only place upload limits are set."""

    document_mb: int = Field(15, ge=1, description="Largest document upload in MB.")
    image_mb: int = Field(10, ge=1, description="Largest image upload in MB.")
    audio_mb: int = Field(50, ge=1, description="Largest audio upload in MB.")
    video_mb: int = Field(100, ge=1, description="Largest video upload in MB.")
    workflow_file_upload_limit: int = Field(10, ge=1, description="Most files one workflow input may carry.")


class StorageSettings(BaseModel):
    """Where uploaded files are kept."""

    backend: Literal["local", "s3"] = Field("local", description="`local` (under KAWA_HOME/files) or `s3`.")
    s3_bucket: str | None = Field(None, description="S3 bucket name (backend s3).")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint, e.g. MinIO (backend s3).")
    s3_region: str | None = Field(None, description="S3 region (backend s3).")
    s3_access_key_id: str | None = Field(None, description="S3 access key id (backend s3).")
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret key (backend s3).")
    s3_prefix: str = Field("kawa/", description="Key prefix inside the bucket.")
