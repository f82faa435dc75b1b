// Entry point for `azd up` / `azd provision`: one resource group holding everything AiStreaming needs on
// Azure Container Apps. azd passes environmentName and location (main.parameters.json) and reads the outputs
// (AZURE_CONTAINER_REGISTRY_ENDPOINT to push images, WEB_URL to print).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; prefixes the resource group and tags every resource (azd-env-name).')
param environmentName string

@minLength(1)
@description('Azure region for every resource.')
param location string

@description('Object id of the user or service principal running azd; granted Key Vault Secrets Officer so secrets can be inspected. Empty skips it.')
param principalId string = ''

@secure()
@description('Password of the PostgreSQL administrator; azd generates it once and keeps it in the environment.')
@metadata({ azd: { type: 'generate', config: { length: 32, noSpecial: true } } })
param postgresAdminPassword string

@secure()
@description('Key that signs the JSON Web Tokens the services issue and check (at least 32 bytes); azd generates it once.')
@metadata({ azd: { type: 'generate', config: { length: 64, noSpecial: true } } })
param jwtSigningKey string

@allowed(['EntraId', 'Generic'])
@description('How Web signs in (Oidc:Provider): EntraId through Microsoft.Identity.Web, or Generic for any OpenID Connect authority.')
param oidcProvider string = 'EntraId'

@minLength(1)
@description('OpenID Connect authority Web signs users in with (Oidc:Authority), e.g. https://login.microsoftonline.com/{tenant}/v2.0 for Microsoft Entra ID.')
param oidcAuthority string

@minLength(1)
@description('Web\'s client id at that authority (Oidc:ClientId).')
param oidcClientId string

@secure()
@minLength(1)
@description('Web\'s client secret at that authority (Oidc:ClientSecret); kept in Key Vault.')
param oidcClientSecret string

@description('Proxies besides loopback whose X-Forwarded-* headers the streamer believes (StreamerSecurity:TrustedProxies): IP addresses or CIDR ranges, e.g. the environment\'s infrastructure subnet. Empty: none.')
param streamerTrustedProxies array = []

@secure()
@description('Model connection string, Endpoint=...;Key=...;Model=... (README, "A real model"). Empty: the Api uses its simulated model.')
param chatConnectionString string = ''

@description('Images deployed by azd (SERVICE_{NAME}_IMAGE_NAME); empty on the first provision, when a placeholder runs until `azd deploy`.')
param apiImage string = ''
param streamerImage string = ''
param webImage string = ''

@minValue(1)
@description('Api replicas always running: two, so a generation survives the loss of one (its lease is taken over).')
param apiMinReplicas int = 2

@minValue(1)
@description('Streamer replicas always running: two, so a client whose replica dies reconnects to the other and recovers.')
param streamerMinReplicas int = 2

@minValue(1)
@description('Concurrent HTTP requests (SignalR and SSE connections count while open) per streamer replica before another is added.')
param streamerConcurrentConnectionsPerReplica int = 200

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module resources 'resources.bicep' = {
  name: 'resources'
  scope: group
  params: {
    location: location
    tags: tags
    token: token
    principalId: principalId
    postgresAdminPassword: postgresAdminPassword
    jwtSigningKey: jwtSigningKey
    chatConnectionString: chatConnectionString
    oidcProvider: oidcProvider
    oidcAuthority: oidcAuthority
    oidcClientId: oidcClientId
    oidcClientSecret: oidcClientSecret
    streamerTrustedProxies: streamerTrustedProxies
    apiImage: apiImage
    streamerImage: streamerImage
    webImage: webImage
    apiMinReplicas: apiMinReplicas
    streamerMinReplicas: streamerMinReplicas
    streamerConcurrentConnectionsPerReplica: streamerConcurrentConnectionsPerReplica
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = resources.outputs.registryLoginServer
output AZURE_CONTAINER_REGISTRY_NAME string = resources.outputs.registryName
output AZURE_CONTAINER_APPS_ENVIRONMENT_DEFAULT_DOMAIN string = resources.outputs.environmentDefaultDomain
output AZURE_KEY_VAULT_NAME string = resources.outputs.keyVaultName
output WEB_URL string = resources.outputs.webUrl
