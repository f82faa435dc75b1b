// The container registry azd pushes the images to (`dotnet publish /t:PublishContainer`), and AcrPull for the apps' identity.
param location string
param tags object
@minLength(3)
param token string
@description('Principal id of the identity the apps pull with.')
param pullPrincipalId string

// AcrPull, a built-in role: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: 'cr${token}'
  location: location
  tags: tags
  sku: { name: 'Basic' }
  properties: {
    adminUserEnabled: false
  }
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, pullPrincipalId, acrPullRoleId)
  scope: registry
  properties: {
    principalId: pullPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
