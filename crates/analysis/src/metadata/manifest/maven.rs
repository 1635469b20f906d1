//! `pom.xml`.

use super::xml::{self, Element};
use super::{DependencyKind, Manifest, ManifestError};

/// The dependency being read inside `project/dependencies/dependency`.
#[derive(Default)]
struct PendingDependency {
    group: String,
    artifact: String,
    version: String,
    scope: String,
}

/// `groupId:artifactId` as the name (the group and version fall back to the parent's),
/// description, url, `scm/url` as the repository, license names, direct dependencies (not
/// `dependencyManagement`, plugins or profiles; scope `test` is dev, others runtime; `${property}`
/// versions as written) and `modules` as workspace members.
pub(super) fn parse(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let mut group = None;
    let mut parent_group = None;
    let mut artifact = None;
    let mut parent_version = None;
    let mut licenses = Vec::new();
    let mut dependency = PendingDependency::default();
    xml::walk(text, |e: &Element<'_>| {
        if e.path.len() == 1 && e.path[0] != "project" {
            return Err(ManifestError::Invalid(format!(
                "pom.xml root element is <{}>, not <project>",
                e.path[0]
            )));
        }
        let text = e.text.to_owned();
        match e.path.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["project", "groupId"] => group = Some(text),
            ["project", "artifactId"] => artifact = Some(text),
            ["project", "version"] => manifest.version = Some(text),
            ["project", "description"] => manifest.description = Some(text),
            ["project", "url"] => manifest.homepage = Some(text),
            ["project", "scm", "url"] => manifest.repository = Some(text),
            ["project", "parent", "groupId"] => parent_group = Some(text),
            ["project", "parent", "version"] => parent_version = Some(text),
            ["project", "licenses", "license", "name"] if !text.is_empty() => licenses.push(text),
            ["project", "modules", "module"] => manifest.add_member(&text)?,
            ["project", "dependencies", "dependency", field] => match field {
                "groupId" => dependency.group = text,
                "artifactId" => dependency.artifact = text,
                "version" => dependency.version = text,
                "scope" => dependency.scope = text,
                _ => {}
            },
            ["project", "dependencies", "dependency"] => {
                let done = std::mem::take(&mut dependency);
                if !done.artifact.is_empty() {
                    let kind = if done.scope.eq_ignore_ascii_case("test") {
                        DependencyKind::Dev
                    } else {
                        DependencyKind::Runtime
                    };
                    let name = format!("{}:{}", done.group, done.artifact);
                    manifest.add_dependency(&name, Some(&done.version), kind)?;
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    let group = group.or(parent_group).filter(|g| !g.is_empty());
    manifest.name = match (group, artifact) {
        (Some(group), Some(artifact)) => Some(format!("{group}:{artifact}")),
        (None, artifact) => artifact,
        (Some(_), None) => None,
    };
    if manifest.version.is_none() {
        manifest.version = parent_version;
    }
    if !licenses.is_empty() {
        manifest.license = Some(licenses.join(" OR "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Dependency, Ecosystem, parse_manifest};
    use super::*;

    const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.2.4</version>
  </parent>
  <groupId>com.acme</groupId>
  <artifactId>orders-service</artifactId>
  <version>1.4.0-SNAPSHOT</version>
  <packaging>pom</packaging>
  <description>Orders &amp; invoicing service</description>
  <url>https://acme.example/orders</url>
  <licenses>
    <license>
      <name>The Apache Software License, Version 2.0</name>
      <url>https://www.apache.org/licenses/LICENSE-2.0.txt</url>
    </license>
  </licenses>
  <scm><url>https://github.com/acme/orders</url></scm>
  <modules>
    <module>orders-api</module>
    <module>orders-core</module>
  </modules>
  <properties>
    <jackson.version>2.17.0</jackson.version>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>com.fasterxml.jackson</groupId>
        <artifactId>jackson-bom</artifactId>
        <version>${jackson.version}</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter-web</artifactId>
    </dependency>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
      <version>${jackson.version}</version>
    </dependency>
    <dependency>
      <groupId>jakarta.servlet</groupId>
      <artifactId>jakarta.servlet-api</artifactId>
      <version>6.0.0</version>
      <scope>provided</scope>
    </dependency>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>5.10.2</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <artifactId>maven-surefire-plugin</artifactId>
        <dependencies>
          <dependency><groupId>x</groupId><artifactId>plugin-dep</artifactId></dependency>
        </dependencies>
      </plugin>
    </plugins>
  </build>
</project>
"#;

    #[test]
    fn a_pom_yields_coordinates_direct_dependencies_and_modules() {
        let m = parse_manifest("orders/pom.xml", POM).unwrap().unwrap();
        assert_eq!(m.ecosystem, Ecosystem::Maven);
        assert_eq!(m.name.as_deref(), Some("com.acme:orders-service"));
        assert_eq!(m.version.as_deref(), Some("1.4.0-SNAPSHOT"));
        assert_eq!(m.description.as_deref(), Some("Orders & invoicing service"));
        assert_eq!(m.homepage.as_deref(), Some("https://acme.example/orders"));
        assert_eq!(m.repository.as_deref(), Some("https://github.com/acme/orders"));
        assert_eq!(
            m.license.as_deref(),
            Some("The Apache Software License, Version 2.0")
        );
        let dep = |name: &str, version: Option<&str>, kind| Dependency {
            name: name.into(),
            version_req: version.map(Into::into),
            kind,
        };
        use DependencyKind::*;
        assert_eq!(
            m.dependencies,
            vec![
                dep("org.springframework.boot:spring-boot-starter-web", None, Runtime),
                dep(
                    "com.fasterxml.jackson.core:jackson-databind",
                    Some("${jackson.version}"),
                    Runtime
                ),
                dep("jakarta.servlet:jakarta.servlet-api", Some("6.0.0"), Runtime),
                dep("org.junit.jupiter:junit-jupiter", Some("5.10.2"), Dev),
            ]
        );
        assert_eq!(m.workspace_members, vec!["orders-api", "orders-core"]);
    }

    #[test]
    fn group_and_version_fall_back_to_the_parent() {
        let text = "<project><parent><groupId>com.acme</groupId><artifactId>p</artifactId>\
                    <version>2.0</version></parent><artifactId>child</artifactId></project>";
        let m = parse_manifest("child/pom.xml", text).unwrap().unwrap();
        assert_eq!(m.name.as_deref(), Some("com.acme:child"));
        assert_eq!(m.version.as_deref(), Some("2.0"));
    }

    #[test]
    fn malformed_or_foreign_xml_is_an_error() {
        let error = parse_manifest("pom.xml", "<project><artifactId>x</groupId></project>")
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(error, ManifestError::Syntax { format: "XML", .. }),
            "{error}"
        );
        let error = parse_manifest("pom.xml", "<settings><x/></settings>")
            .unwrap()
            .unwrap_err();
        assert!(error.to_string().contains("not <project>"), "{error}");
        let deep = format!(
            "<project>{}{}</project>",
            "<a>".repeat(10_000),
            "</a>".repeat(10_000)
        );
        assert!(matches!(
            parse_manifest("pom.xml", &deep).unwrap(),
            Err(ManifestError::TooDeep { .. })
        ));
    }
}
