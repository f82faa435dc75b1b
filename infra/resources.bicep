// Everything in the resource group: monitoring, identity, registry, Key Vault, Redis, PostgreSQL, the Container Apps
// environment and the three apps. Secrets (connection strings, keys) are written to Key Vault by the module that knows
// them and reach the apps as Key Vault references resolved with the apps' user-assigned identity.
targetScope = 'resourceGroup'

param location string
param tags object
@description('Suffix that makes global names (registry, vault, servers) unique per subscription, environment and region.')
param token string
param principalId string
@secure()
param postgresAdminPassword string
@secure()
param jwtSigningKey string
@secure()
param chatConnectionString string
param oidcProvider string
param oidcAuthority string
param oidcClientId string
@secure()
param oidcClientSecret string
param streamerTrustedProxies array
param apiImage string
param streamerImage string
param webImage string
param apiMinReplicas int
param streamerMinReplicas int
param streamerConcurrentConnectionsPerReplica int

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${token}'
  location: location
  tags: tags
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    token: token
  }
}

module registry 'core/registry.bicep' = {
  name: 'registry'
  params: {
    location: location
    tags: tags
    token: token
    pullPrincipalId: identity.properties.principalId
  }
}

module vault 'core/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    tags: tags
    token: token
    readerPrincipalId: identity.properties.principalId
    officerPrincipalId: principalId
    jwtSigningKey: jwtSigningKey
    chatConnectionString: chatConnectionString
    oidcClientSecret: oidcClientSecret
  }
}

module redis 'core/redis.bicep' = {
  name: 'redis'
  params: {
    location: location
    tags: tags
    token: token
    keyVaultName: vault.outputs.name
  }
}

module postgres 'core/postgres.bicep' = {
  name: 'postgres'
  params: {
    location: location
    tags: tags
    token: token
    administratorPassword: postgresAdminPassword
    keyVaultName: vault.outputs.name
  }
}

module environment 'core/container-apps-environment.bicep' = {
  name: 'container-apps-environment'
  params: {
    location: location
    tags: tags
    token: token
    logAnalyticsWorkspaceName: monitoring.outputs.logAnalyticsWorkspaceName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
  }
}

// What every app shares: the registry it pulls from with the identity, the secrets it may reference.
var common = {
  environmentId: environment.outputs.id
  identityId: identity.id
  identityClientId: identity.properties.clientId
  registryServer: registry.outputs.loginServer
}
var internalDomain = 'internal.${environment.outputs.defaultDomain}'
var chatSecret = empty(chatConnectionString) ? [] : [{ name: 'chat-connection-string', keyVaultUrl: vault.outputs.chatConnectionStringUri }]
var chatEnv = empty(chatConnectionString) ? [] : [{ name: 'ConnectionStrings__chat', secretRef: 'chat-connection-string' }]
// Web's public address: a container app's FQDN is {name}.{environment's default domain}.
var webOrigin = 'https://web.${environment.outputs.defaultDomain}'
// Host filtering (AllowedHosts): '*' on every app. Container Apps' ingress routes to an app only the requests for its own
// host names (public or internal FQDN, bound custom domains), so the filter is the ingress's; and the platform's probes
// of /alive and /health use the replica's IP as Host, which any list of names would refuse (never ready).
var trustedProxyEnv = [for (proxy, i) in streamerTrustedProxies: { name: 'StreamerSecurity__TrustedProxies__${i}', value: proxy }]

module api 'app/container-app.bicep' = {
  name: 'app-api'
  params: {
    name: 'api'
    location: location
    tags: tags
    common: common
    image: apiImage
    external: false
    minReplicas: apiMinReplicas
    maxReplicas: max(apiMinReplicas, 4)
    secrets: concat([
      { name: 'redis-connection-string', keyVaultUrl: redis.outputs.connectionStringSecretUri }
      { name: 'messages-connection-string', keyVaultUrl: postgres.outputs.connectionStringSecretUri }
      { name: 'jwt-signing-key', keyVaultUrl: vault.outputs.jwtSigningKeyUri }
    ], chatSecret)
    env: concat([
      { name: 'ConnectionStrings__redis', secretRef: 'redis-connection-string' }
      { name: 'ConnectionStrings__messages', secretRef: 'messages-connection-string' }
      { name: 'Auth__SigningKey', secretRef: 'jwt-signing-key' }
      { name: 'AllowedHosts', value: '*' }
    ], chatEnv)
  }
}

module streamer 'app/container-app.bicep' = {
  name: 'app-streamer'
  params: {
    name: 'streamer'
    location: location
    tags: tags
    common: common
    image: streamerImage
    external: false
    // SignalR negotiate and connect, and every long-polling request, must reach the same replica.
    stickySessions: true
    minReplicas: streamerMinReplicas
    maxReplicas: max(streamerMinReplicas, 10)
    concurrentRequestsPerReplica: streamerConcurrentConnectionsPerReplica
    secrets: [
      { name: 'redis-connection-string', keyVaultUrl: redis.outputs.connectionStringSecretUri }
      { name: 'jwt-signing-key', keyVaultUrl: vault.outputs.jwtSigningKeyUri }
    ]
    env: concat([
      { name: 'ConnectionStrings__redis', secretRef: 'redis-connection-string' }
      { name: 'Auth__SigningKey', secretRef: 'jwt-signing-key' }
      { name: 'AllowedHosts', value: '*' }
      // Pages are served by Web: its public origin may open hubs and SSE streams whatever the forwarded headers say.
      { name: 'StreamerSecurity__AllowedOrigins__0', value: webOrigin }
    ], trustedProxyEnv)
  }
}

module web 'app/container-app.bicep' = {
  name: 'app-web'
  params: {
    name: 'web'
    location: location
    tags: tags
    common: common
    image: webImage
    external: true
    minReplicas: 1
    maxReplicas: 4
    // Redis holds the Data Protection key ring every Web replica shares (cookies, antiforgery tokens).
    secrets: [
      { name: 'redis-connection-string', keyVaultUrl: redis.outputs.connectionStringSecretUri }
      { name: 'jwt-signing-key', keyVaultUrl: vault.outputs.jwtSigningKeyUri }
      { name: 'oidc-client-secret', keyVaultUrl: vault.outputs.oidcClientSecretUri }
    ]
    // One address per tier: the ingress of each internal app balances over its replicas (with affinity for the streamer).
    env: [
      { name: 'services__api__http__0', value: 'http://${api.outputs.name}.${internalDomain}' }
      { name: 'services__streamer__http__0', value: 'http://${streamer.outputs.name}.${internalDomain}' }
      { name: 'ConnectionStrings__redis', secretRef: 'redis-connection-string' }
      { name: 'Auth__SigningKey', secretRef: 'jwt-signing-key' }
      { name: 'Oidc__Provider', value: oidcProvider }
      { name: 'Oidc__Authority', value: oidcAuthority }
      { name: 'Oidc__ClientId', value: oidcClientId }
      { name: 'Oidc__ClientSecret', secretRef: 'oidc-client-secret' }
      { name: 'AllowedHosts', value: '*' }
    ]
  }
}

output registryLoginServer string = registry.outputs.loginServer
output registryName string = registry.outputs.name
output environmentDefaultDomain string = environment.outputs.defaultDomain
output keyVaultName string = vault.outputs.name
output webUrl string = 'https://${web.outputs.fqdn}'
