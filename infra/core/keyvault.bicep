// Key Vault (RBAC) holding every secret the apps read: the Redis and PostgreSQL connection strings (written by their
// modules), the JWT signing key, Web's OpenID Connect client secret and the optional model connection string (written here).
param location string
param tags object
param token string
@description('Principal id of the apps\' identity: Key Vault Secrets User.')
param readerPrincipalId string
@description('Object id of the person or pipeline running azd: Key Vault Secrets Officer. Empty skips it.')
param officerPrincipalId string
@secure()
param jwtSigningKey string
@secure()
param chatConnectionString string
@secure()
param oidcClientSecret string

// Built-in roles: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
var secretsOfficerRoleId = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${take(token, 20)}'
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
  }
}

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, secretsUserRoleId)
  scope: vault
  properties: {
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
  }
}

resource officer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(officerPrincipalId)) {
  name: guid(vault.id, officerPrincipalId, secretsOfficerRoleId)
  scope: vault
  properties: {
    principalId: officerPrincipalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficerRoleId)
  }
}

resource jwt 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'jwt-signing-key'
  properties: { value: jwtSigningKey }
}

resource oidc 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'oidc-client-secret'
  properties: { value: oidcClientSecret }
}

resource chat 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(chatConnectionString)) {
  parent: vault
  name: 'chat-connection-string'
  properties: { value: chatConnectionString }
}

output name string = vault.name
output jwtSigningKeyUri string = jwt.properties.secretUri
output oidcClientSecretUri string = oidc.properties.secretUri
output chatConnectionStringUri string = '${vault.properties.vaultUri}secrets/chat-connection-string'
