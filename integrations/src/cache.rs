//! Shared informer caches: one list-then-watch cache per kind for every built-in controller, as
//! client-go's `SharedInformerFactory` gives kube-controller-manager one informer per resource.
//!
//! Upstream: kubernetes/client-go@v0.32 `tools/cache` (`reflector.go`: list, then watch from the
//! list's resourceVersion, relist on `410 Expired`; `thread_safe_store.go`: the indexed store).
//!
//! A controller reads with [`Cache::list`] / [`Cache::get`] instead of an API list, and writes
//! through `ctx.kube` as before. Objects are kept as the JSON the API server sent
//! (`Arc<serde_json::Value>`, decoded once, shared by every reader): the controllers are written
//! over JSON, so no pass converts typed objects back and forth; [`typed`] decodes one when a
//! typed view is worth its cost. The first read of a kind lists it once and opens a watch from
//! the list's resourceVersion; every later read first drains, without waiting, the watch events
//! already sent. The API server delivers a committed change to an open watch at once (the
//! in-process watch stream reads the store's history when polled), so a read always sees every
//! write committed before it: controllers keep the read-your-writes behaviour of a fresh list,
//! while each change is decoded once for all controllers instead of once per list per pass.
//!
//! Pods are also indexed by `spec.nodeName` ([`Cache::pods_on_node`], client-go's
//! `indexByPodNodeName` of the kubelet and the scheduler).
//!
//! Simplified: no resync period (a pass reconciles everything it reads anyway); a watch that
//! ends or fails is reopened from the last seen resourceVersion, and a `410 Expired` or a
//! decoding error relists the kind; the cache lives for one world.

use futures_util::FutureExt as _;
use futures_util::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::Resource;
use serde_json::Value;
use std::any::TypeId;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;
use std::sync::Arc;

type Key = (String, String);
type EventStream = futures_util::stream::BoxStream<'static, Result<WatchEvent<Raw>, kube::Error>>;

/// What a cached kind must be: a built-in object kube-rs knows the URL of.
pub trait Cached: Resource<DynamicType = ()> + Send + Sync + 'static {}
impl<K> Cached for K where K: Resource<DynamicType = ()> + Send + Sync + 'static {}

/// An object as the API server sent it: its JSON, decoded once, plus its metadata.
#[derive(Debug, Clone)]
struct Raw {
    meta: ObjectMeta,
    value: Value,
}

impl<'de> serde::Deserialize<'de> for Raw {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        let value = Value::deserialize(d)?;
        let meta = match value.get("metadata") {
            Some(m) => ObjectMeta::deserialize(m).map_err(serde::de::Error::custom)?,
            None => ObjectMeta::default(),
        };
        Ok(Raw { meta, value })
    }
}

/// The URL-building part of [`Resource`] for [`Raw`], taken from the cached kind.
#[derive(Debug, Clone)]
struct RawType {
    group: String,
    version: String,
    kind: String,
    plural: String,
}

impl Resource for Raw {
    type DynamicType = RawType;
    type Scope = kube::core::DynamicResourceScope;
    fn kind(dt: &RawType) -> std::borrow::Cow<'_, str> {
        dt.kind.as_str().into()
    }
    fn group(dt: &RawType) -> std::borrow::Cow<'_, str> {
        dt.group.as_str().into()
    }
    fn version(dt: &RawType) -> std::borrow::Cow<'_, str> {
        dt.version.as_str().into()
    }
    fn plural(dt: &RawType) -> std::borrow::Cow<'_, str> {
        dt.plural.as_str().into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

/// One kind's store and watch.
struct Informer {
    ty: RawType,
    objects: BTreeMap<Key, Arc<Value>>,
    /// `spec.nodeName` → keys (pods only; empty for other kinds).
    by_node: BTreeMap<String, BTreeSet<Key>>,
    rv: String,
    stream: Option<EventStream>,
    synced: bool,
}

fn node_of(v: &Value) -> Option<&str> {
    v.get("spec")?.get("nodeName")?.as_str()
}

impl Informer {
    fn new<K: Cached>() -> Informer {
        Informer {
            ty: RawType {
                group: K::group(&()).into_owned(),
                version: K::version(&()).into_owned(),
                kind: K::kind(&()).into_owned(),
                plural: K::plural(&()).into_owned(),
            },
            objects: BTreeMap::new(),
            by_node: BTreeMap::new(),
            rv: String::new(),
            stream: None,
            synced: false,
        }
    }

    fn key(meta: &ObjectMeta) -> Key {
        (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        )
    }

    fn insert(&mut self, obj: Raw) {
        let key = Self::key(&obj.meta);
        if let Some(rv) = obj.meta.resource_version {
            self.rv = rv;
        }
        self.unindex(&key);
        if let Some(node) = node_of(&obj.value) {
            self.by_node
                .entry(node.to_string())
                .or_default()
                .insert(key.clone());
        }
        self.objects.insert(key, Arc::new(obj.value));
    }

    fn remove(&mut self, obj: Raw) {
        let key = Self::key(&obj.meta);
        if let Some(rv) = obj.meta.resource_version {
            self.rv = rv;
        }
        self.unindex(&key);
        self.objects.remove(&key);
    }

    fn unindex(&mut self, key: &Key) {
        let Some(node) = self.objects.get(key).and_then(|o| node_of(o)) else {
            return;
        };
        let node = node.to_string();
        if let Some(keys) = self.by_node.get_mut(&node) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_node.remove(&node);
            }
        }
    }

    /// Lists (first time, or after the watch expired) and drains the events already sent.
    async fn sync(&mut self, client: &kube::Client) -> Result<(), kube::Error> {
        let api: Api<Raw> = Api::all_with(client.clone(), &self.ty);
        for _ in 0..3 {
            if !self.synced {
                let list = api.list(&ListParams::default()).await?;
                self.objects.clear();
                self.by_node.clear();
                for obj in list.items {
                    self.insert(obj);
                }
                self.rv = list.metadata.resource_version.unwrap_or_default();
                self.stream = None;
                self.synced = true;
            }
            loop {
                let stream = match self.stream.as_mut() {
                    Some(s) => s,
                    None => {
                        let params = WatchParams::default().timeout(290);
                        self.stream
                            .insert(api.watch(&params, &self.rv).await?.boxed())
                    }
                };
                match stream.next().now_or_never() {
                    // Nothing more has been sent: the cache is as fresh as the store.
                    None => return Ok(()),
                    // The watch timed out: reopen it from where it was.
                    Some(None) => self.stream = None,
                    Some(Some(Ok(WatchEvent::Added(obj) | WatchEvent::Modified(obj)))) => {
                        self.insert(obj)
                    }
                    Some(Some(Ok(WatchEvent::Deleted(obj)))) => self.remove(obj),
                    Some(Some(Ok(WatchEvent::Bookmark(b)))) => {
                        self.rv = b.metadata.resource_version
                    }
                    // 410 Expired, another in-stream error or an undecodable event: relist.
                    Some(Some(Ok(WatchEvent::Error(_)) | Err(_))) => {
                        self.synced = false;
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The shared caches of one world. Cheap to clone (clones share the caches).
#[derive(Clone)]
pub struct Cache {
    client: kube::Client,
    informers: Arc<tokio::sync::Mutex<HashMap<TypeId, Informer>>>,
}

impl Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

impl Cache {
    /// Caches over `client`; nothing is listed until a kind is first read.
    pub fn new(client: kube::Client) -> Cache {
        Cache {
            client,
            informers: Arc::default(),
        }
    }

    async fn with<K: Cached, T>(&self, f: impl FnOnce(&Informer) -> T) -> Result<T, kube::Error> {
        let mut all = self.informers.lock().await;
        let informer = all
            .entry(TypeId::of::<K>())
            .or_insert_with(Informer::new::<K>);
        informer.sync(&self.client).await?;
        Ok(f(informer))
    }

    /// Every object of kind `K` in every namespace, ordered by namespace and name, as of now.
    pub async fn list<K: Cached>(&self) -> Result<Vec<Arc<Value>>, kube::Error> {
        self.with::<K, _>(|i| i.objects.values().cloned().collect())
            .await
    }

    /// The objects of kind `K` in `namespace`, ordered by name.
    pub async fn list_namespaced<K: Cached>(
        &self,
        namespace: &str,
    ) -> Result<Vec<Arc<Value>>, kube::Error> {
        self.with::<K, _>(|i| {
            i.objects
                .range((namespace.to_string(), String::new())..)
                .take_while(|((ns, _), _)| ns == namespace)
                .map(|(_, o)| o.clone())
                .collect()
        })
        .await
    }

    /// One object (`namespace` is `""` for cluster-scoped kinds).
    pub async fn get<K: Cached>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Arc<Value>>, kube::Error> {
        let key = (namespace.to_string(), name.to_string());
        self.with::<K, _>(|i| i.objects.get(&key).cloned()).await
    }

    /// The pods bound to `node` (`spec.nodeName`), ordered by namespace and name.
    pub async fn pods_on_node(&self, node: &str) -> Result<Vec<Arc<Value>>, kube::Error> {
        self.with::<Pod, _>(|i| {
            i.by_node
                .get(node)
                .map(|keys| {
                    keys.iter()
                        .filter_map(|k| i.objects.get(k).cloned())
                        .collect()
                })
                .unwrap_or_default()
        })
        .await
    }

    /// The pods per node name, for every node with at least one pod.
    pub async fn pods_by_node(&self) -> Result<BTreeMap<String, Vec<Arc<Value>>>, kube::Error> {
        self.with::<Pod, _>(|i| {
            i.by_node
                .iter()
                .map(|(node, keys)| {
                    (
                        node.clone(),
                        keys.iter()
                            .filter_map(|k| i.objects.get(k).cloned())
                            .collect(),
                    )
                })
                .collect()
        })
        .await
    }
}

/// A typed copy of a cached object.
pub fn typed<K: serde::de::DeserializeOwned>(v: &Value) -> Result<K, serde_json::Error> {
    K::deserialize(v)
}
