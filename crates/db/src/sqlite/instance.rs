//! [`InstanceRepo`] on SQLite.

use async_trait::async_trait;
use miniaws_core::compute::{
    Ec2InstanceId, Instance, InstanceId, InstanceRepo, Labels, ListQuery, PortMapping,
    PublishedPort,
};
use miniaws_core::identity::UserId;
use miniaws_core::{CoreError, CoreResult, Resource};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};

use super::{fmt_time, parse_opt_time, parse_uuid};
use crate::error::{db_err, is_unique_violation};
use crate::instance_row::{
    INSTANCE_COLUMNS, RawInstance, command_text, env_text, fixed_host_ports, insert_conflict,
    name_taken, origin_columns, port_reserved, tags_text,
};

/// Instances in SQLite.
pub(crate) struct SqliteInstanceRepo {
    pool: SqlitePool,
}

impl SqliteInstanceRepo {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn from_row(row: &SqliteRow) -> CoreResult<Instance> {
    let raw = || -> Result<RawInstance, sqlx::Error> {
        let owner: Option<String> = row.try_get("owner_id")?;
        Ok(RawInstance {
            id: parse_uuid(row.try_get("id")?)?,
            owner: owner.as_deref().map(parse_uuid).transpose()?,
            name: row.try_get("name")?,
            image: row.try_get("image")?,
            instance_type: row.try_get("instance_type")?,
            status: row.try_get("status")?,
            state_reason: row.try_get("state_reason")?,
            exit_code: row.try_get("exit_code")?,
            container_id: row.try_get("container_id")?,
            ports: row.try_get("ports")?,
            published_ports: row.try_get("published_ports")?,
            private_ip: row.try_get("private_ip")?,
            env: row.try_get("env")?,
            command: row.try_get("command")?,
            tags: row.try_get("tags")?,
            created_at: parse_opt_time(row.try_get("created_at")?)?,
            updated_at: parse_opt_time(row.try_get("updated_at")?)?,
            deleted_at: parse_opt_time(row.try_get("deleted_at")?)?,
            launch_first: row
                .try_get::<Option<String>, _>("launch_first")?
                .as_deref()
                .map(parse_uuid)
                .transpose()?,
            launch_index: row.try_get("launch_index")?,
            client_token: row.try_get("client_token")?,
            launch_digest: row.try_get("launch_digest")?,
        })
    };
    raw().map_err(db_err)?.decode()
}

/// Writes the mutable fields of `i` (see [`InstanceRepo::update`]).
async fn write_fields(conn: &mut SqliteConnection, i: &Instance) -> CoreResult<()> {
    let done = sqlx::query(
        "UPDATE instances SET status = ?2, state_reason = ?3, exit_code = ?4,
            container_id = ?5, published_ports = ?6, updated_at = ?7, deleted_at = ?8,
            instance_type = ?9, private_ip = ?10
         WHERE id = ?1",
    )
    .bind(i.id.to_string())
    .bind(i.state.as_str())
    .bind(&i.state_reason)
    .bind(i.exit_code)
    .bind(&i.container_id)
    .bind(PublishedPort::format_list(&i.published_ports))
    .bind(fmt_time(i.updated_at))
    .bind(i.deleted_at.map(fmt_time))
    .bind(&i.instance_type)
    .bind(&i.private_ip)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(CoreError::not_found(Resource::Instance, i.id.to_string()));
    }
    Ok(())
}

#[async_trait]
impl InstanceRepo for SqliteInstanceRepo {
    async fn insert(&self, i: &Instance) -> CoreResult<()> {
        let (first, index, token, digest) = origin_columns(i);
        // IMMEDIATE, as every write transaction here: the write lock is
        // taken at BEGIN, where the busy timeout waits for it.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO instances (id, owner_id, name, image, instance_type, status, state_reason,
                exit_code, container_id, ports, published_ports, env, command, created_at,
                updated_at, deleted_at, ec2_id, tags, private_ip, launch_first, launch_index,
                client_token, launch_digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        )
        .bind(i.id.to_string())
        .bind(i.owner.to_string())
        .bind(&i.name)
        .bind(&i.image)
        .bind(&i.instance_type)
        .bind(i.state.as_str())
        .bind(&i.state_reason)
        .bind(i.exit_code)
        .bind(&i.container_id)
        .bind(PortMapping::format_list(&i.ports))
        .bind(PublishedPort::format_list(&i.published_ports))
        .bind(env_text(i))
        .bind(command_text(i))
        .bind(fmt_time(i.created_at))
        .bind(fmt_time(i.updated_at))
        .bind(i.deleted_at.map(fmt_time))
        .bind(i.ec2_id().as_str())
        .bind(tags_text(&i.tags))
        .bind(&i.private_ip)
        .bind(first.map(|u| u.to_string()))
        .bind(index)
        .bind(token)
        .bind(digest)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                insert_conflict(&e, i)
            } else {
                db_err(e)
            }
        })?;
        if i.deleted_at.is_none() {
            for (host_port, protocol) in fixed_host_ports(i) {
                sqlx::query(
                    "INSERT INTO instance_host_ports (host_port, protocol, instance_id)
                     VALUES (?1, ?2, ?3)",
                )
                .bind(host_port)
                .bind(protocol)
                .bind(i.id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        port_reserved(host_port, protocol)
                    } else {
                        db_err(e)
                    }
                })?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn reserve_host_ports(&self, i: &Instance) -> CoreResult<()> {
        let ports = fixed_host_ports(i);
        if ports.is_empty() {
            return Ok(());
        }
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        let live: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM instances WHERE id = ?1 AND deleted_at IS NULL")
                .bind(i.id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        if live.is_none() {
            return Err(CoreError::not_found(Resource::Instance, i.id.to_string()));
        }
        for (host_port, protocol) in ports {
            sqlx::query(
                "INSERT INTO instance_host_ports (host_port, protocol, instance_id)
                 VALUES (?1, ?2, ?3) ON CONFLICT (host_port, protocol) DO NOTHING",
            )
            .bind(host_port)
            .bind(protocol)
            .bind(i.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let holder: String = sqlx::query_scalar(
                "SELECT instance_id FROM instance_host_ports WHERE host_port = ?1 AND protocol = ?2",
            )
            .bind(host_port)
            .bind(protocol)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            if holder != i.id.to_string() {
                // Dropping the transaction rolls back what it claimed.
                return Err(port_reserved(host_port, protocol));
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn get(&self, owner: UserId, id: InstanceId) -> CoreResult<Instance> {
        let sql =
            format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = ?1 AND owner_id = ?2");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(owner.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| CoreError::not_found(Resource::Instance, id.to_string()))?;
        from_row(&row)
    }

    async fn get_by_ec2_id(&self, owner: UserId, id: &Ec2InstanceId) -> CoreResult<Instance> {
        let sql =
            format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE ec2_id = ?1 AND owner_id = ?2");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .bind(owner.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| CoreError::not_found(Resource::Instance, id.to_string()))?;
        from_row(&row)
    }

    async fn find_by_client_token(&self, owner: UserId, token: &str) -> CoreResult<Vec<Instance>> {
        // An index range scan of `instances_client_token_idx`.
        let sql = format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances \
             WHERE owner_id = ?1 AND client_token = ?2 ORDER BY launch_index"
        );
        let rows = sqlx::query(&sql)
            .bind(owner.to_string())
            .bind(token)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(from_row).collect()
    }

    async fn find(&self, id: InstanceId) -> CoreResult<Option<Instance>> {
        let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(from_row).transpose()
    }

    async fn list(&self, owner: UserId, q: &ListQuery) -> CoreResult<Vec<Instance>> {
        let sql = format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances
             WHERE owner_id = ?1 AND (?2 OR deleted_at IS NULL)
               AND (?3 IS NULL OR (created_at, id) > (?3, ?4))
             ORDER BY created_at, id LIMIT ?5"
        );
        // Times are text of one fixed width (fmt_time), so text order is
        // time order.
        let rows = sqlx::query(&sql)
            .bind(owner.to_string())
            .bind(q.include_terminated)
            .bind(q.after.map(|a| fmt_time(a.created_at)))
            .bind(q.after.map(|a| a.id.to_string()))
            .bind(i64::from(q.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(from_row).collect()
    }

    async fn list_live(&self) -> CoreResult<Vec<Instance>> {
        let sql = format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances
             WHERE deleted_at IS NULL AND owner_id IS NOT NULL ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(from_row).collect()
    }

    async fn update(&self, i: &Instance) -> CoreResult<()> {
        if i.deleted_at.is_none() {
            let mut conn = self.pool.acquire().await.map_err(db_err)?;
            return write_fields(&mut conn, i).await;
        }
        // Terminated: the row and the release of its fixed host ports in
        // one transaction, so that no terminated instance keeps a port.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        write_fields(&mut tx, i).await?;
        sqlx::query("DELETE FROM instance_host_ports WHERE instance_id = ?1")
            .bind(i.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn relabel(
        &self,
        id: InstanceId,
        expected: &Labels,
        new: &Labels,
        updated_at: time::OffsetDateTime,
    ) -> CoreResult<bool> {
        let done = sqlx::query(
            "UPDATE instances SET name = ?2, tags = ?3, updated_at = ?4
             WHERE id = ?1 AND name = ?5 AND tags = ?6",
        )
        .bind(id.to_string())
        .bind(&new.name)
        .bind(tags_text(&new.tags))
        .bind(fmt_time(updated_at))
        .bind(&expected.name)
        .bind(tags_text(&expected.tags))
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                name_taken(&new.name)
            } else {
                db_err(e)
            }
        })?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete(&self, id: InstanceId) -> CoreResult<()> {
        // Its host port reservations go with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM instances WHERE id = ?1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
