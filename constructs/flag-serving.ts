import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import { Cpu, Deployment, DeploymentStrategy, ImagePullPolicy, LabelSelector, PercentOrAbsolute, Probe, Protocol, ServiceAccount, Volume, k8s, type IConfigMap } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { flagdFlagSet, groupByShard, MAX_FLAG_SHARDS, shardId, FLAGD_KEY, type FeatureFlag, type FlagSetSource } from './feature-flag-config-map.ts';
import { ownPodTemplateLabels } from './labels.ts';
import { restrictPodSecurity } from './pod-security.ts';

/** The flagd release the manifests target (open-feature/flagd tag `flagd/v0.16.1`); see docs/flag-serving.md. */
export const FLAGD_VERSION = 'v0.16.1';
/** flagd's image at that release (distroless, runs as UID/GID 65532). */
export const FLAGD_IMAGE = `ghcr.io/open-feature/flagd:${FLAGD_VERSION}`;

/** flagd's ports, its defaults (`flagd start --help`). */
export const FLAGD_PORTS = {
  /** Flag evaluation (gRPC and Connect/HTTP, `--port`). */
  evaluation: 8013,
  /** Management: `/healthz`, `/readyz`, `/metrics` (`--management-port`). */
  management: 8014,
  /** gRPC flag sync for in-process providers (`--sync-port`); not exposed here. */
  sync: 8015,
  /** OFREP, the OpenFeature Remote Evaluation Protocol over HTTP (`--ofrep-port`). */
  ofrep: 8016,
} as const;

/** Names of the objects, shared with the alerts (kube-state-metrics labels), the dashboard and the docs. */
export const FLAGD_NAMES = {
  /** Deployment, Service, ServiceAccount, NetworkPolicy, PodDisruptionBudget and ServiceMonitor; also the scrape `job` (the Service name). */
  app: 'flagd',
  container: 'flagd',
  /** The OpenFeature Operator's FeatureFlag and FeatureFlagSource. */
  operatorFlags: 'feature-flags',
} as const;

/** Where flagd mounts the flag ConfigMap: a directory, so the kubelet's atomic updates reach it. */
export const FLAGD_MOUNT = '/etc/flagd';
/** `app.kubernetes.io/component` of every flag-serving object. */
export const FLAG_SERVING_COMPONENT = 'flag-serving';
/** The OpenFeature Operator's API (its CRDs are vendored in policies/crds/). */
export const OPENFEATURE_API = 'core.openfeature.dev/v1beta1';
/** Pod-template annotations that make the OpenFeature Operator inject flagd next to the backend. */
export const OPENFEATURE_ANNOTATIONS = {
  enabled: 'openfeature.dev/enabled',
  featureFlagSource: 'openfeature.dev/featureflagsource',
} as const;

/** CPU in millicores, memory in MiB. */
export interface FlagdResources {
  readonly cpuRequestMillis: number;
  readonly cpuLimitMillis: number;
  readonly memoryRequestMiB: number;
  readonly memoryLimitMiB: number;
}

export interface FlagdServerProps {
  /** The flag ConfigMap; flagd reads its `flags.flagd.json` from the mounted directory. */
  readonly flagConfigMap: IConfigMap;
  /**
   * The shards of a flag set split over several ConfigMaps (`FeatureFlagConfigMap.flagSetSources`):
   * flagd reads every one of them instead (one `--uri` each), from one directory that a projected
   * volume fills with every shard's key, which keeps the kubelet's atomic updates.
   * @default - none: flagd reads `flags.flagd.json` of `flagConfigMap`
   */
  readonly flagShards?: readonly FlagSetSource[];
  /** Labels of the backend's pods: the only pods that may reach the evaluation ports (8013, 8016). */
  readonly clientPodLabels: Readonly<Record<string, string>>;
  /** `release` label of the ServiceMonitor: kube-prometheus-stack's serviceMonitorSelector matches it. */
  readonly release: string;
  /**
   * Replicas; from 2 on, the pods spread over nodes and a PodDisruptionBudget keeps one available.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Image, pinned to an exact released version or a digest.
   * @default FLAGD_IMAGE
   */
  readonly image?: string;
  /**
   * Requests and limits of the flagd container.
   * @default 50m/500m CPU, 64/256 MiB memory
   */
  readonly resources?: FlagdResources;
  /**
   * Namespace of Prometheus: the only namespace that may reach the metrics port (8014).
   * @default 'monitoring'
   */
  readonly monitoringNamespace?: string;
}

const FLAG_SET_FILE = /^[-._a-zA-Z0-9]+\.json$/;
const PINNED_RELEASE = /(:v?[0-9]+\.[0-9]+\.[0-9]+(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$/;
const FLAGD_UID = 65532;

/**
 * flagd serving the environment's flag set: a Deployment reading `flags.flagd.json` from the flag
 * ConfigMap mounted as a directory (never `subPath`, which never sees updates; flagd watches the
 * file and reloads it by itself, so a flag change restarts nothing), or every shard's file of a
 * sharded flag set from one projected volume, a Service for evaluation
 * (gRPC 8013, OFREP 8016) and metrics (8014), a NetworkPolicy letting only the backend's pods reach
 * evaluation and only the monitoring namespace reach metrics, a ServiceMonitor, and from 2 replicas
 * a PodDisruptionBudget and topology spread. Pod Security "restricted", read-only root filesystem,
 * no API token. Nothing in it depends on the flag values: a flag change touches only the ConfigMap.
 */
export class FlagdServer extends Construct {
  public readonly deployment: Deployment;
  public readonly service: k8s.KubeService;
  public readonly networkPolicy: k8s.KubeNetworkPolicy;
  public readonly serviceMonitor: ApiObject;
  public readonly serviceAccount: ServiceAccount;
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;

  constructor(scope: Construct, id: string, props: FlagdServerProps) {
    super(scope, id);
    const replicas = props.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw new Error(`The 'replicas' property must be a whole number of flagd replicas, at least 1. The value passed is: ${replicas}`);
    }
    const image = props.image ?? FLAGD_IMAGE;
    if (!PINNED_RELEASE.test(image)) {
      throw new Error(`The 'image' property must be pinned to an exact released version (':v0.16.1') or a sha256 digest, so every replica serves with the same flagd. The value passed is: ${image}`);
    }
    if (Object.keys(props.clientPodLabels).length === 0) {
      throw new Error(`The 'clientPodLabels' property must select the backend's pods: with no label the NetworkPolicy would let every pod reach flag evaluation. The value passed is: {}`);
    }
    const shards = props.flagShards ?? [];
    const keys = new Set<string>();
    for (const { key } of shards) {
      if (!FLAG_SET_FILE.test(key) || keys.has(key)) {
        throw new Error(`The 'flagShards' property must give each shard its own key ending in .json (they share one directory, and flagd reads .json/.yaml files only). The value passed is: ${JSON.stringify(key)}`);
      }
      keys.add(key);
    }
    const resources = props.resources ?? { cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequestMiB: 64, memoryLimitMiB: 256 };
    const monitoringNamespace = props.monitoringNamespace ?? 'monitoring';
    const labels = { 'app.kubernetes.io/name': FLAGD_NAMES.app, 'app.kubernetes.io/component': FLAG_SERVING_COMPONENT };
    const selector = { 'app.kubernetes.io/name': FLAGD_NAMES.app };

    this.serviceAccount = new ServiceAccount(this, 'ServiceAccount', { metadata: { name: FLAGD_NAMES.app, labels }, automountToken: false });

    const flags = Volume.fromConfigMap(this, 'Flags', shards[0]?.configMap ?? props.flagConfigMap, { name: 'flags', defaultMode: 0o444 });
    const files = shards.length === 0 ? [FLAGD_KEY] : shards.map((s) => s.key);
    const probe = (path: string) =>
      Probe.fromHttpGet(path, { port: FLAGD_PORTS.management, periodSeconds: Duration.seconds(5), failureThreshold: 3, timeoutSeconds: Duration.seconds(2) });
    this.deployment = new Deployment(this, 'Deployment', {
      metadata: { name: FLAGD_NAMES.app, labels },
      podMetadata: { labels },
      select: false,
      replicas,
      strategy: DeploymentStrategy.rollingUpdate({ maxSurge: PercentOrAbsolute.absolute(1), maxUnavailable: PercentOrAbsolute.absolute(0) }),
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: false,
      securityContext: { user: FLAGD_UID, group: FLAGD_UID, ensureNonRoot: true },
      volumes: [flags],
      containers: [
        {
          name: FLAGD_NAMES.container,
          image,
          imagePullPolicy: ImagePullPolicy.IF_NOT_PRESENT,
          args: [
            'start',
            // One source per file: flagd merges them (a key in a later --uri wins; shards share none).
            ...files.flatMap((file) => ['--uri', `file:${FLAGD_MOUNT}/${file}`]),
            '--port',
            String(FLAGD_PORTS.evaluation),
            '--management-port',
            String(FLAGD_PORTS.management),
            '--ofrep-port',
            String(FLAGD_PORTS.ofrep),
            '--sync-port',
            String(FLAGD_PORTS.sync),
            '--log-format',
            'json',
          ],
          ports: [
            { number: FLAGD_PORTS.evaluation, name: 'grpc', protocol: Protocol.TCP },
            { number: FLAGD_PORTS.ofrep, name: 'ofrep', protocol: Protocol.TCP },
            { number: FLAGD_PORTS.management, name: 'metrics', protocol: Protocol.TCP },
          ],
          readiness: probe('/readyz'),
          liveness: probe('/healthz'),
          startup: Probe.fromHttpGet('/healthz', { port: FLAGD_PORTS.management, periodSeconds: Duration.seconds(2), failureThreshold: 30 }),
          securityContext: { user: FLAGD_UID, group: FLAGD_UID, ensureNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false },
          resources: {
            cpu: { request: Cpu.millis(resources.cpuRequestMillis), limit: Cpu.millis(resources.cpuLimitMillis) },
            memory: { request: Size.mebibytes(resources.memoryRequestMiB), limit: Size.mebibytes(resources.memoryLimitMiB) },
          },
          volumeMounts: [{ path: FLAGD_MOUNT, volume: flags, readOnly: true }],
        },
      ],
    });
    this.deployment.select(LabelSelector.of({ labels: selector }));
    const deployment = ApiObject.of(this.deployment);
    if (shards.length > 0) {
      // cdk8s-plus has no projected volume: the one volume becomes one, every shard's key in one
      // directory (a projected volume is updated atomically as a whole, like a ConfigMap volume).
      deployment.addJsonPatch(
        JsonPatch.replace('/spec/template/spec/volumes/0', {
          name: 'flags',
          projected: { defaultMode: 0o444, sources: shards.map((s) => ({ configMap: { name: s.configMap.name, items: [{ key: s.key, path: s.key }] } })) },
        }),
      );
    }
    // cdk8s-plus labels every pod template with its construct address; the selector above is ours.
    ownPodTemplateLabels(this.deployment, 'Deployment');
    if (replicas >= 2) {
      deployment.addJsonPatch(
        JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [
          { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: selector } },
          { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
        ]),
      );
    }
    restrictPodSecurity(this.deployment, 'Deployment');

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: FLAGD_NAMES.app, labels },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [
          { name: 'grpc', port: FLAGD_PORTS.evaluation, targetPort: k8s.IntOrString.fromString('grpc'), protocol: 'TCP', appProtocol: 'grpc' },
          { name: 'ofrep', port: FLAGD_PORTS.ofrep, targetPort: k8s.IntOrString.fromString('ofrep'), protocol: 'TCP', appProtocol: 'http' },
          { name: 'metrics', port: FLAGD_PORTS.management, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP', appProtocol: 'http' },
        ],
      },
    });

    const port = (n: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(n) });
    this.networkPolicy = new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: FLAGD_NAMES.app, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          { from: [{ podSelector: { matchLabels: { ...props.clientPodLabels } } }], ports: [port(FLAGD_PORTS.evaluation), port(FLAGD_PORTS.ofrep)] },
          { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': monitoringNamespace } } }], ports: [port(FLAGD_PORTS.management)] },
        ],
        // A file source needs no network at all.
        egress: [],
      },
    });

    if (replicas >= 2) {
      this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
        metadata: { name: FLAGD_NAMES.app, labels },
        spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
      });
    }

    this.serviceMonitor = new ApiObject(this, 'ServiceMonitor', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: FLAGD_NAMES.app, labels: { ...labels, release: props.release } },
      spec: {
        selector: { matchLabels: labels },
        endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s', scheme: 'http' }],
      },
    });
  }
}

export interface OpenFeatureOperatorFlagsProps {
  /** Environment name (the flag set's `flagSetId` is `pms-<environment>`). */
  readonly environment: string;
  /** The flags, as for the flag ConfigMap: the FeatureFlag holds the same flag set as `flags.flagd.json`. */
  readonly flags: readonly FeatureFlag[];
  /** Namespace of the objects (the annotation names `<namespace>/<name>`). */
  readonly namespace: string;
  /**
   * Name of the FeatureFlag and the FeatureFlagSource.
   * @default 'feature-flags'
   */
  readonly name?: string;
  /**
   * Split the flag set over this many FeatureFlags (a power of two; the shard count of the flag
   * ConfigMaps, `FeatureFlagConfigMap.shards`), each holding the flags of the ConfigMap shard of the
   * same number, named `<name>-shard-03-of-64`; the FeatureFlagSource lists every one.
   * @default - one FeatureFlag named `name` holds every flag
   */
  readonly shards?: number;
}

const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The OpenFeature Operator's objects (`core.openfeature.dev/v1beta1`): a `FeatureFlag` whose
 * `spec.flagSpec` is the flag set of `flags.flagd.json` (same model, same bytes once parsed; one
 * block per flag, so concurrent flag pull requests still merge), or for a sharded flag set one
 * `FeatureFlag` per shard, and a `FeatureFlagSource` pointing the injected flagd sidecar at every
 * one of them. The backend's pod template needs {@link backendPodAnnotations}.
 */
export class OpenFeatureOperatorFlags extends Construct {
  /** The first (or only) FeatureFlag. */
  public readonly featureFlag: ApiObject;
  /** Every FeatureFlag: one, or one per shard. */
  public readonly featureFlags: readonly ApiObject[];
  public readonly featureFlagSource: ApiObject;
  /** The annotations the backend's pod template must carry for the operator to inject flagd. */
  public readonly backendPodAnnotations: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: OpenFeatureOperatorFlagsProps) {
    super(scope, id);
    const name = props.name ?? FLAGD_NAMES.operatorFlags;
    if (!DNS_NAME.test(name) || name.length > 63) {
      throw new Error(`The 'name' property must be a DNS label (it is part of the openfeature.dev/featureflagsource annotation). The value passed is: ${JSON.stringify(name)}`);
    }
    const shards = props.shards;
    if (shards !== undefined && (!Number.isInteger(Math.log2(shards)) || shards < 1 || shards > MAX_FLAG_SHARDS)) {
      throw new Error(`The 'shards' property must be a power of two from 1 to ${MAX_FLAG_SHARDS} (the shard count of the flag ConfigMaps). The value passed is: ${shards}`);
    }
    const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': FLAG_SERVING_COMPONENT };
    const featureFlag = (id: string, flagName: string, flags: readonly FeatureFlag[]): ApiObject => {
      const { $schema: _schema, ...flagSpec } = flagdFlagSet(props.environment, flags);
      return new ApiObject(this, id, { apiVersion: OPENFEATURE_API, kind: 'FeatureFlag', metadata: { name: flagName, labels }, spec: { flagSpec } });
    };
    this.featureFlags =
      shards === undefined
        ? [featureFlag('FeatureFlag', name, props.flags)]
        : groupByShard(props.flags, shards).map((flags, i) => featureFlag(`FeatureFlag${i}of${shards}`, `${name}-shard-${shardId(i, shards)}`, flags));
    this.featureFlag = this.featureFlags[0]!;
    this.featureFlagSource = new ApiObject(this, 'FeatureFlagSource', {
      apiVersion: OPENFEATURE_API,
      kind: 'FeatureFlagSource',
      metadata: { name, labels },
      spec: {
        sources: this.featureFlags.map((f) => ({ source: `${props.namespace}/${f.metadata.name}`, provider: 'kubernetes' })),
        port: FLAGD_PORTS.evaluation,
        managementPort: FLAGD_PORTS.management,
        ofrepPort: FLAGD_PORTS.ofrep,
        probesEnabled: true,
        evaluator: 'json',
        logFormat: 'json',
      },
    });
    this.backendPodAnnotations = { [OPENFEATURE_ANNOTATIONS.enabled]: 'true', [OPENFEATURE_ANNOTATIONS.featureFlagSource]: `${props.namespace}/${name}` };
  }
}
