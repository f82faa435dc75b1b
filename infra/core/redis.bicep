// Azure Managed Redis (Balanced B0, the smallest tier) with one database on port 10000, TLS only, access-key
// authentication (StackExchange.Redis password), no eviction: the Redis Streams hold recent history and must not be
// evicted under memory pressure. Its connection string goes to Key Vault as 'redis-connection-string'.
param location string
param tags object
param token string
param keyVaultName string

@description('Azure Managed Redis SKU, e.g. Balanced_B0, Balanced_B1, MemoryOptimized_M10.')
param skuName string = 'Balanced_B0'

resource cluster 'Microsoft.Cache/redisEnterprise@2025-04-01' = {
  name: 'redis-${token}'
  location: location
  tags: tags
  sku: { name: skuName }
  properties: {
    minimumTlsVersion: '1.2'
  }
}

resource database 'Microsoft.Cache/redisEnterprise/databases@2025-04-01' = {
  parent: cluster
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: 10000
    // One endpoint for the client; the channel keys share a hash tag anyway, so OSSCluster would work too.
    clusteringPolicy: 'EnterpriseCluster'
    evictionPolicy: 'NoEviction'
    accessKeysAuthentication: 'Enabled'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'redis-connection-string'
  properties: {
    value: '${cluster.properties.hostName}:10000,password=${database.listKeys().primaryKey},ssl=True,abortConnect=False'
  }
}

output hostName string = cluster.properties.hostName
output connectionStringSecretUri string = secret.properties.secretUri
