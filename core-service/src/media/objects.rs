//! Where attachments' bytes are kept: an object store (local files, or any
//! S3-compatible store for several cores) behind a few calls. The object
//! store only keeps bytes; who may read them is the database's to say.

use bytes::Bytes;
use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use std::ops::Range;
use std::sync::Arc;

/// Bytes an upload to local files holds before writing them out.
const LOCAL_CHUNK: usize = 256 * 1024;
/// Bytes an upload to S3 holds before sending them: S3's smallest part.
const S3_CHUNK: usize = 5 * 1024 * 1024;
/// Parts a writer may have in flight before it waits for one to land.
pub const PARTS_IN_FLIGHT: usize = 2;

/// An object store and how uploads are cut for it.
#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    chunk: usize,
    /// How the store was given, for logs (without credentials).
    pub describe: String,
}

/// Why the object store failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectsError {
    #[error("MEDIA_URL must be file:///folder or s3://bucket[/prefix], not {0}")]
    Url(String),
    #[error("cannot create the media folder {0}: {1}")]
    Folder(String, std::io::Error),
    #[error(transparent)]
    Store(#[from] object_store::Error),
}

impl Objects {
    /// The store at `url`: `file:///folder` (created if missing) or
    /// `s3://bucket[/prefix]`, whose endpoint, region and credentials come
    /// from the environment (`AWS_ENDPOINT`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, …) and then from `options`.
    pub fn open(url: &str, options: &[(String, String)]) -> Result<Self, ObjectsError> {
        if let Some(folder) = url.strip_prefix("file://") {
            return Objects::folder(std::path::Path::new(folder));
        }
        if url.starts_with("s3://") {
            let mut builder = AmazonS3Builder::from_env().with_url(url);
            for (key, value) in options {
                let key = key.parse().map_err(|_| ObjectsError::Url(key.clone()))?;
                builder = builder.with_config(key, value);
            }
            let describe = startup::mask_url_password(url);
            let store: Arc<dyn ObjectStore> = match url_prefix(url) {
                Some(prefix) => Arc::new(object_store::prefix::PrefixStore::new(
                    builder.build()?,
                    prefix,
                )),
                None => Arc::new(builder.build()?),
            };
            return Ok(Objects {
                store,
                chunk: S3_CHUNK,
                describe,
            });
        }
        Err(ObjectsError::Url(startup::mask_url_password(url)))
    }

    /// Local files under `folder`.
    pub fn folder(folder: &std::path::Path) -> Result<Self, ObjectsError> {
        std::fs::create_dir_all(folder)
            .map_err(|error| ObjectsError::Folder(folder.display().to_string(), error))?;
        let store = LocalFileSystem::new_with_prefix(folder)?.with_automatic_cleanup(true);
        Ok(Objects {
            store: Arc::new(store),
            chunk: LOCAL_CHUNK,
            describe: folder.display().to_string(),
        })
    }

    /// A writer of the object `key`, sent out in parts as its bytes come.
    pub async fn writer(&self, key: &Path) -> Result<WriteMultipart, object_store::Error> {
        let upload = self.store.put_multipart(key).await?;
        Ok(WriteMultipart::new_with_chunk_size(upload, self.chunk))
    }

    /// Stores `bytes` as `key`.
    pub async fn put(&self, key: &Path, bytes: Bytes) -> Result<(), object_store::Error> {
        self.store.put(key, bytes.into()).await.map(|_| ())
    }

    /// The whole of `key`.
    pub async fn read_all(&self, key: &Path) -> Result<Bytes, object_store::Error> {
        self.store.get(key).await?.bytes().await
    }

    /// The bytes of `key` in `range` (the whole when none), as they come.
    pub async fn read(
        &self,
        key: &Path,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, object_store::Error>>, object_store::Error> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        Ok(self.store.get_opts(key, options).await?.into_stream())
    }

    /// Moves `from` to `to` (replacing it: the same name holds the same
    /// bytes).
    pub async fn rename(&self, from: &Path, to: &Path) -> Result<(), object_store::Error> {
        self.store.rename(from, to).await
    }

    /// Deletes `key`; one already gone is no error.
    pub async fn delete(&self, key: &Path) -> Result<(), object_store::Error> {
        match self.store.delete(key).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// The objects under `prefix` last written before `before`.
    pub async fn older_than(
        &self,
        prefix: &Path,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Path>, object_store::Error> {
        self.store
            .list(Some(prefix))
            .try_filter(|object| futures_util::future::ready(object.last_modified < before))
            .map_ok(|object| object.location)
            .try_collect()
            .await
    }
}

/// The key prefix of an `s3://bucket/prefix` URL.
fn url_prefix(url: &str) -> Option<String> {
    let rest = url.strip_prefix("s3://")?;
    let (_, prefix) = rest.split_once('/')?;
    let prefix = prefix.trim_matches('/');
    (!prefix.is_empty()).then(|| prefix.to_owned())
}

#[cfg(test)]
mod tests {
    use super::url_prefix;

    #[test]
    fn an_s3_url_may_name_a_prefix() {
        assert_eq!(url_prefix("s3://bucket"), None);
        assert_eq!(url_prefix("s3://bucket/"), None);
        assert_eq!(url_prefix("s3://bucket/a/b/"), Some("a/b".into()));
    }
}
