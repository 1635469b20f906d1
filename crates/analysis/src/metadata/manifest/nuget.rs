//! MSBuild project files: `*.csproj`, `*.fsproj`, `*.vbproj`.

use super::xml::{self, Element};
use super::{DependencyKind, Manifest, ManifestError};
use crate::metadata::text::file_name;

/// `PropertyGroup` identity (`AssemblyName`, else `PackageId`, else `RootNamespace`, else the
/// file name, as MSBuild defaults it), `Version`, `Description`, `PackageLicenseExpression`,
/// `PackageProjectUrl`, `RepositoryUrl`; `PackageReference` items with a `Version` attribute or
/// child element (none under central package management). `ProjectReference`s are not packages.
/// Element names are compared case-insensitively, as MSBuild does.
pub(super) fn parse(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let mut assembly_name = None;
    let mut package_id = None;
    let mut root_namespace = None;
    let mut child_version: Option<String> = None;
    xml::walk(text, |e: &Element<'_>| {
        if e.path.len() == 1 && !e.path[0].eq_ignore_ascii_case("Project") {
            return Err(ManifestError::Invalid(format!(
                "MSBuild project root element is <{}>, not <Project>",
                e.path[0]
            )));
        }
        let value = || Some(e.text.to_owned()).filter(|t| !t.is_empty());
        if let [project, group, property] = e.path
            && project.eq_ignore_ascii_case("Project")
            && group.eq_ignore_ascii_case("PropertyGroup")
        {
            let property = property.to_ascii_lowercase();
            match property.as_str() {
                "assemblyname" => assembly_name = value(),
                "packageid" => package_id = value(),
                "rootnamespace" => root_namespace = value(),
                "version" => manifest.version = value(),
                "description" => manifest.description = value(),
                "packagelicenseexpression" => manifest.license = value(),
                "packageprojecturl" => manifest.homepage = value(),
                "repositoryurl" => manifest.repository = value(),
                _ => {}
            }
        } else if e.is_ignore_case(&["Project", "ItemGroup", "PackageReference", "Version"]) {
            child_version = value();
        } else if e.is_ignore_case(&["Project", "ItemGroup", "PackageReference"]) {
            let version = e
                .attribute("Version")
                .or_else(|| e.attribute("VersionOverride"))
                .map(str::to_owned)
                .or_else(|| child_version.take());
            child_version = None;
            if let Some(name) = e.attribute("Include") {
                manifest.add_dependency(name, version.as_deref(), DependencyKind::Runtime)?;
            }
        }
        Ok(())
    })?;
    let stem = file_name(&manifest.path)
        .rsplit_once('.')
        .map(|(stem, _)| stem.to_owned());
    manifest.name = assembly_name.or(package_id).or(root_namespace).or(stem);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Dependency, Ecosystem, parse_manifest};
    use super::*;

    #[test]
    fn a_csproj_yields_package_references_with_attribute_or_element_versions() {
        let text = r#"<Project Sdk="Microsoft.NET.Sdk.Web">
  <PropertyGroup>
    <TargetFramework>net8.0</TargetFramework>
    <RootNamespace>Acme.Orders</RootNamespace>
    <AssemblyName>Acme.Orders.Api</AssemblyName>
    <Version>1.2.3</Version>
    <Description>Orders HTTP API</Description>
    <PackageLicenseExpression>MIT</PackageLicenseExpression>
    <RepositoryUrl>https://github.com/acme/orders</RepositoryUrl>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Serilog.AspNetCore" Version="8.0.1" />
    <PackageReference Include="Npgsql.EntityFrameworkCore.PostgreSQL">
      <Version>8.0.2</Version>
    </PackageReference>
    <PackageReference Include="Microsoft.SourceLink.GitHub" PrivateAssets="All" />
    <ProjectReference Include="..\Acme.Orders.Core\Acme.Orders.Core.csproj" />
  </ItemGroup>
</Project>"#;
        let m = parse_manifest("src/Acme.Orders.Api/Acme.Orders.Api.csproj", text)
            .unwrap()
            .unwrap();
        assert_eq!(m.ecosystem, Ecosystem::Nuget);
        assert_eq!(m.name.as_deref(), Some("Acme.Orders.Api"));
        assert_eq!(m.version.as_deref(), Some("1.2.3"));
        assert_eq!(m.description.as_deref(), Some("Orders HTTP API"));
        assert_eq!(m.license.as_deref(), Some("MIT"));
        assert_eq!(m.repository.as_deref(), Some("https://github.com/acme/orders"));
        let dep = |name: &str, version: Option<&str>| Dependency {
            name: name.into(),
            version_req: version.map(Into::into),
            kind: DependencyKind::Runtime,
        };
        assert_eq!(
            m.dependencies,
            vec![
                dep("Serilog.AspNetCore", Some("8.0.1")),
                dep("Npgsql.EntityFrameworkCore.PostgreSQL", Some("8.0.2")),
                dep("Microsoft.SourceLink.GitHub", None),
            ]
        );
    }

    #[test]
    fn the_file_name_names_a_project_without_assembly_name() {
        let m = parse_manifest("Tool.fsproj", "<Project><PropertyGroup/></Project>")
            .unwrap()
            .unwrap();
        assert_eq!(m.name.as_deref(), Some("Tool"));
        assert!(
            parse_manifest("Tool.csproj", "<Project><ItemGroup>")
                .unwrap()
                .is_err()
        );
        assert!(parse_manifest("Tool.csproj", "<html></html>").unwrap().is_err());
    }
}
