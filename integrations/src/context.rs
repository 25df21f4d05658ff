//! What every controller pass gets: the two public clients, the clock and the cluster's settings.

use crate::cache::Cache;
use crate::identity::{Account, Identities};
use cloudbox_aws::{AwsClient, AwsError};
use cloudbox_sim::Clock;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the kubelet's `--max-pods` is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxPods {
    /// The kubelet's default (`maxPods: 110`), which kubeadm keeps.
    Kubeadm,
    /// The EKS AMI's `eni-max-pods.txt` rule for amazon-vpc-cni: `N × (M − 1) + 2`, N ENIs of M
    /// IPv4 addresses each (c5.large 3 × 10 → 29).
    Eni,
}

/// The cluster's settings (DESIGN.md "Topologies").
#[derive(Debug, Clone)]
pub struct Config {
    /// The cluster name of the `kubernetes.io/cluster/<cluster>` tag (kubeadm's `clusterName`).
    pub cluster: String,
    /// The kubelet's and kube-proxy's version (`v1.32.4`).
    pub kubernetes_version: String,
    /// The max-pods policy.
    pub max_pods: MaxPods,
    /// From an instance's LaunchTime to its kubelet's registration (cloud-init, kubeadm join):
    /// 60 s by default.
    pub boot_delay: Duration,
    /// The root filesystem's size, reported as `ephemeral-storage` capacity (GiB; the EKS AMI's
    /// default root volume is 20 GiB).
    pub ephemeral_storage_gib: u64,
    /// `status.nodeInfo.osImage`.
    pub os_image: String,
    /// `status.nodeInfo.kernelVersion` (without the `.x86_64` / `.aarch64` suffix).
    pub kernel_version: String,
    /// `status.nodeInfo.containerRuntimeVersion`.
    pub container_runtime_version: String,
    /// Seed of the machine ids, system UUIDs and boot ids.
    pub seed: u64,
    /// The Amazon VPC CNI's settings when the cluster runs it (pod addresses from node ENIs);
    /// None: the kubelet's per-node pod range.
    pub vpc_cni: Option<crate::vpc_cni::Settings>,
}

impl Config {
    /// The defaults for `cluster`: Kubernetes v1.32.4, kubeadm's 110 pods, a 60 s boot.
    pub fn new(cluster: &str) -> Config {
        Config {
            cluster: cluster.to_string(),
            kubernetes_version: "v1.32.4".to_string(),
            max_pods: MaxPods::Kubeadm,
            boot_delay: Duration::from_secs(60),
            ephemeral_storage_gib: 20,
            os_image: "Amazon Linux 2023.6.20250203".to_string(),
            kernel_version: "6.1.127-135.201.amzn2023".to_string(),
            container_runtime_version: "containerd://1.7.25".to_string(),
            seed: 0,
            vpc_cni: None,
        }
    }

    /// The cluster tag's key, `kubernetes.io/cluster/<cluster>`.
    pub fn cluster_tag(&self) -> String {
        format!("kubernetes.io/cluster/{}", self.cluster)
    }
}

/// The clients, clock and settings a controller pass uses. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    /// The Kubernetes API (`kube::Client::new(cloudbox_kube::app(state), "default")` in process)
    /// as the cluster admin, or as the account of [`Context::as_account`].
    pub kube: kube::Client,
    /// The AWS endpoint of the cluster's region.
    pub aws: AwsClient,
    /// The simulation clock.
    pub clock: Clock,
    /// The cluster's settings.
    pub config: Config,
    /// The shared informer caches every controller reads through.
    pub cache: Cache,
    /// What controllers keep in their own process between passes (ipamd's datastore, cooldowns).
    pub memory: Memory,
    /// The earliest clock time (ms) a controller asked to run again at ([`Context::requeue_at`]).
    requeue: Arc<Mutex<Option<u64>>>,
    /// Events named so far ([`Context::event_nanos`]).
    event_seq: Arc<std::sync::atomic::AtomicU64>,
    /// The accounts controllers call the API as, with their tokens ([`crate::identity`]).
    identities: Identities,
}

impl Context {
    /// Asks the driver to run the passes again no later than clock time `at_ms` (a pull that
    /// ends, a grace period, a lease renewal): the workqueue's `AddAfter`. Between such times
    /// and the AWS endpoint's timers the driver may move the clock in one jump.
    pub fn requeue_at(&self, at_ms: u64) {
        let mut r = self
            .requeue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if r.is_none_or(|t| at_ms < t) {
            *r = Some(at_ms);
        }
    }

    /// The nanoseconds for naming an Event recorded at `at_ms`, `<object>.<hex nanos>` as
    /// client-go's recorder names them: the recorder reads the wall clock's nanoseconds, which
    /// never repeat, so the sub-millisecond part here counts the events of this world (a
    /// controller recording 1,000 events at one instant does not try 1,000 taken names).
    pub fn event_nanos(&self, at_ms: u64) -> u128 {
        let seq = self
            .event_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        u128::from(at_ms) * 1_000_000 + u128::from(seq % 1_000_000)
    }

    /// The earliest requeue time asked for since the last call, cleared (for the driver).
    pub fn take_requeue(&self) -> Option<u64> {
        self.requeue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// Per-controller in-process state, one value per type: what a real controller holds in its
/// own memory (and rebuilds from the APIs when it restarts). Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct Memory(Arc<Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>>);

impl Memory {
    /// The value of type `T`, created with `T::default()` on first use. `T` holds its own
    /// locks (a `Mutex` inside) for what changes.
    pub fn get<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = all
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn Any + Send + Sync>)
            .clone();
        drop(all);
        slot.downcast::<T>()
            .unwrap_or_else(|_| Arc::new(T::default()))
    }
}

impl Context {
    /// A context over `kube` with fresh shared caches.
    pub fn new(kube: kube::Client, aws: AwsClient, clock: Clock, config: Config) -> Context {
        Context {
            cache: Cache::new(kube.clone()),
            identities: Identities::new(kube.clone(), clock.clone()),
            memory: Memory::default(),
            requeue: Arc::default(),
            event_seq: Arc::default(),
            kube,
            aws,
            clock,
            config,
        }
    }
}

impl Context {
    /// This context with [`Context::kube`] calling the API server as `account` (a controller's
    /// ServiceAccount with a bound token renewed on the simulation clock, or a user): what
    /// kube-controller-manager's `--use-service-account-credentials` gives each controller.
    /// The shared caches stay on the admin client (the controller-manager's informers use its
    /// own `system:kube-controller-manager` credentials, which may list and watch everything).
    pub async fn as_account(&self, account: &Account) -> Result<Context, Error> {
        let kube = self.identities.client(account).await?;
        Ok(Context {
            kube,
            ..self.clone()
        })
    }

    /// The accounts' clients and tokens.
    pub fn identities(&self) -> &Identities {
        &self.identities
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("region", &self.aws.region())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What failed in a controller pass.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `ec2:DescribeInstances` failed.
    #[error("DescribeInstances: {0}")]
    DescribeInstances(#[source] Box<AwsError>),
    /// `ec2:DescribeInstanceTypes` failed.
    #[error("DescribeInstanceTypes: {0}")]
    DescribeInstanceTypes(#[source] Box<AwsError>),
    /// Listing Nodes failed.
    #[error("list Nodes: {0}")]
    ListNodes(#[source] Box<kube::Error>),
    /// Creating a Node failed.
    #[error("create Node {name}: {source}")]
    CreateNode {
        /// The Node.
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Reading a Node failed.
    #[error("get Node {name}: {source}")]
    GetNode {
        /// The Node.
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Patching a Node (metadata, spec or status) failed.
    #[error("patch Node {name}: {source}")]
    PatchNode {
        /// The Node.
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Deleting a Node failed.
    #[error("delete Node {name}: {source}")]
    DeleteNode {
        /// The Node.
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Reading, creating or renewing a node Lease failed.
    #[error("node Lease {name}: {source}")]
    Lease {
        /// The Lease (the Node's name).
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A Kubernetes object could not be built from JSON (a bug in the model).
    #[error("build {what}: {source}")]
    Build {
        /// What was built.
        what: &'static str,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// Listing, patching or deleting a Pod failed.
    #[error("Pod {name}: {source}")]
    Pod {
        /// The Pod (`namespace/name`, `*` for the list).
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Creating or listing a Pod's Events failed.
    #[error("Events of Pod {name}: {source}")]
    Event {
        /// The Pod (`namespace/name`).
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Listing Pods failed.
    #[error("list Pods: {0}")]
    ListPods(#[source] Box<kube::Error>),
    /// Binding a Pod to a Node (`pods/binding`) failed.
    #[error("bind Pod {name}: {source}")]
    BindPod {
        /// The Pod (`namespace/name`).
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Patching a Pod's status failed.
    #[error("patch Pod {name}: {source}")]
    PatchPod {
        /// The Pod (`namespace/name`).
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Creating an Event failed.
    #[error("create Event {name}: {source}")]
    CreateEvent {
        /// The Event.
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A read or write of a workload object (Deployment, ReplicaSet, Pod) failed.
    #[error("{what}: {source}")]
    Workload {
        /// The operation and object (`create Pod default/web-`).
        what: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Installing an add-on chart's RBAC objects failed ([`crate::charts`]).
    #[error("install chart {chart}: {what}{}", source.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    Chart {
        /// The chart.
        chart: &'static str,
        /// What was being done.
        what: String,
        /// The API error, if the API server refused.
        #[source]
        source: Option<Box<kube::Error>>,
    },
    /// Making a controller's account or its token failed (`getOrCreateServiceAccount`, the
    /// TokenRequest).
    #[error("{what}: {source}")]
    Identity {
        /// What was done (`request a token for ServiceAccount kube-system/x`).
        what: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// An AWS call of a controller failed.
    #[error("{what}: {source}")]
    Aws {
        /// The operation and object (`ec2:AttachVolume vol-…`).
        what: String,
        /// The AWS error.
        #[source]
        source: Box<AwsError>,
    },
}
