// One .NET service as a container app: image from the registry (pulled with the user-assigned identity), secrets as
// Key Vault references, probes on ServiceDefaults' /alive and /health, HTTP scaling. Tagged azd-service-name so
// `azd deploy` finds it. Until azd has pushed an image, a public placeholder runs on port 80.
param name string
param location string
param tags object
@description('environmentId, identityId, identityClientId, registryServer.')
param common object
@description('The image azd deployed (SERVICE_{NAME}_IMAGE_NAME), or empty for the placeholder.')
param image string
@description('True: reachable from the internet (Web). False: only inside the environment.')
param external bool
@description('Cookie affinity at the ingress, for SignalR (negotiate then connect) and long polling.')
param stickySessions bool = false
param minReplicas int
param maxReplicas int
@description('Concurrent HTTP requests per replica before scaling out; open WebSocket and SSE connections count.')
param concurrentRequestsPerReplica int = 100
@description('Container Apps secrets: { name, keyVaultUrl }.')
param secrets array
@description('Environment variables: { name, value } or { name, secretRef }.')
param env array

var placeholder = 'mcr.microsoft.com/azuredocs/containerapps-helloworld:latest'
var deployed = !empty(image)
// The .NET SDK's container images listen on 8080 (ASPNETCORE_HTTP_PORTS); the placeholder on 80.
var port = deployed ? 8080 : 80
var probes = deployed
  ? [
      { type: 'Liveness', httpGet: { path: '/alive', port: port }, periodSeconds: 10 }
      { type: 'Readiness', httpGet: { path: '/health', port: port }, periodSeconds: 5 }
    ]
  : []

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': name })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${common.identityId}': {} }
  }
  properties: {
    environmentId: common.environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: external
        targetPort: port
        transport: 'auto'
        // Internal hops stay plain HTTP inside the environment, as Aspire's Container Apps deployments do.
        allowInsecure: !external
        stickySessions: { affinity: stickySessions ? 'sticky' : 'none' }
      }
      registries: [
        {
          server: common.registryServer
          identity: common.identityId
        }
      ]
      secrets: [for secret in secrets: {
        name: secret.name
        keyVaultUrl: secret.keyVaultUrl
        identity: common.identityId
      }]
    }
    template: {
      containers: [
        {
          name: name
          image: deployed ? image : placeholder
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          // The external ingress is the only peer of a public app: it may set X-Forwarded-For and -Proto (https). Internal
          // apps decide whom to believe themselves (the streamer: StreamerSecurity:TrustedProxies).
          env: concat(external ? [{ name: 'ASPNETCORE_FORWARDEDHEADERS_ENABLED', value: 'true' }] : [], [
            { name: 'OTEL_SERVICE_NAME', value: name }
            { name: 'AZURE_CLIENT_ID', value: common.identityClientId }
          ], env)
          probes: probes
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'concurrent-connections'
            http: {
              metadata: {
                concurrentRequests: string(concurrentRequestsPerReplica)
              }
            }
          }
        ]
      }
    }
  }
}

output name string = app.name
output fqdn string = app.properties.configuration.ingress.fqdn
