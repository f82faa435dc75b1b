// Azure Database for PostgreSQL flexible server (Burstable B1ms, 32 GiB) with the 'messages' database, reachable from
// Azure services (the Container Apps environment has no virtual network here). Its Npgsql connection string goes to
// Key Vault as 'messages-connection-string'.
param location string
param tags object
param token string
param keyVaultName string
@secure()
param administratorPassword string

@description('Administrator login; PostgreSQL reserves names such as postgres, admin and azure_superuser.')
param administratorLogin string = 'aistreaming'
param skuName string = 'Standard_B1ms'
param skuTier string = 'Burstable'
param storageSizeGB int = 32
param version string = '16'

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: 'psql-${token}'
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: version
    administratorLogin: administratorLogin
    administratorLoginPassword: administratorPassword
    authConfig: {
      passwordAuth: 'Enabled'
      activeDirectoryAuth: 'Disabled'
    }
    storage: { storageSizeGB: storageSizeGB }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: { mode: 'Disabled' }
    network: { publicNetworkAccess: 'Enabled' }
  }
}

// 0.0.0.0 to 0.0.0.0 is Azure's convention for "allow connections from Azure services".
resource azureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: server
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource messages 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: 'messages'
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'messages-connection-string'
  properties: {
    value: 'Host=${server.properties.fullyQualifiedDomainName};Port=5432;Username=${administratorLogin};Password=${administratorPassword};Database=${messages.name};SSL Mode=Require'
  }
}

output connectionStringSecretUri string = secret.properties.secretUri
