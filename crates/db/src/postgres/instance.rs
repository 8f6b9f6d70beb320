//! [`InstanceRepo`] on PostgreSQL.

use async_trait::async_trait;
use miniaws_core::compute::{
    Ec2InstanceId, Instance, InstanceId, InstanceRepo, Labels, ListQuery, PortMapping,
    PublishedPort,
};
use miniaws_core::identity::UserId;
use miniaws_core::{CoreError, CoreResult, Resource};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use crate::error::{db_err, is_unique_violation};
use crate::instance_row::{
    INSTANCE_COLUMNS, RawInstance, command_text, env_text, insert_conflict, name_taken,
    origin_columns, tags_text,
};

/// Instances in PostgreSQL.
pub(crate) struct PgInstanceRepo {
    pool: PgPool,
}

impl PgInstanceRepo {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn from_row(row: &PgRow) -> CoreResult<Instance> {
    let raw = || -> Result<RawInstance, sqlx::Error> {
        Ok(RawInstance {
            id: row.try_get("id")?,
            owner: row.try_get("owner_id")?,
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
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            deleted_at: row.try_get("deleted_at")?,
            launch_first: row.try_get("launch_first")?,
            launch_index: i64::from(row.try_get::<i32, _>("launch_index")?),
            client_token: row.try_get("client_token")?,
            launch_digest: row.try_get("launch_digest")?,
        })
    };
    raw().map_err(db_err)?.decode()
}

#[async_trait]
impl InstanceRepo for PgInstanceRepo {
    async fn insert(&self, i: &Instance) -> CoreResult<()> {
        let (first, index, token, digest) = origin_columns(i);
        sqlx::query(
            "INSERT INTO instances (id, owner_id, name, image, instance_type, status, state_reason,
                exit_code, container_id, ports, published_ports, env, command, created_at,
                updated_at, deleted_at, ec2_id, tags, private_ip, launch_first, launch_index,
                client_token, launch_digest)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
        )
        .bind(i.id.as_uuid())
        .bind(i.owner.as_uuid())
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
        .bind(i.created_at)
        .bind(i.updated_at)
        .bind(i.deleted_at)
        .bind(i.ec2_id().as_str())
        .bind(tags_text(&i.tags))
        .bind(&i.private_ip)
        .bind(first)
        .bind(index)
        .bind(token)
        .bind(digest)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                insert_conflict(&e, i)
            } else {
                db_err(e)
            }
        })?;
        Ok(())
    }

    async fn get(&self, owner: UserId, id: InstanceId) -> CoreResult<Instance> {
        let sql =
            format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1 AND owner_id = $2");
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .bind(owner.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| CoreError::not_found(Resource::Instance, id.to_string()))?;
        from_row(&row)
    }

    async fn get_by_ec2_id(&self, owner: UserId, id: &Ec2InstanceId) -> CoreResult<Instance> {
        let sql =
            format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE ec2_id = $1 AND owner_id = $2");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .bind(owner.as_uuid())
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
             WHERE owner_id = $1 AND client_token = $2 ORDER BY launch_index"
        );
        let rows = sqlx::query(&sql)
            .bind(owner.as_uuid())
            .bind(token)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(from_row).collect()
    }

    async fn find(&self, id: InstanceId) -> CoreResult<Option<Instance>> {
        let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(from_row).transpose()
    }

    async fn list(&self, owner: UserId, q: &ListQuery) -> CoreResult<Vec<Instance>> {
        let sql = format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances
             WHERE owner_id = $1 AND ($2 OR deleted_at IS NULL)
               AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4))
             ORDER BY created_at, id LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(owner.as_uuid())
            .bind(q.include_terminated)
            .bind(q.after.map(|a| a.created_at))
            .bind(q.after.map(|a| a.id.as_uuid()))
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
        let done = sqlx::query(
            "UPDATE instances SET status = $2, state_reason = $3, exit_code = $4,
                container_id = $5, published_ports = $6, updated_at = $7, deleted_at = $8,
                instance_type = $9, private_ip = $10
             WHERE id = $1",
        )
        .bind(i.id.as_uuid())
        .bind(i.state.as_str())
        .bind(&i.state_reason)
        .bind(i.exit_code)
        .bind(&i.container_id)
        .bind(PublishedPort::format_list(&i.published_ports))
        .bind(i.updated_at)
        .bind(i.deleted_at)
        .bind(&i.instance_type)
        .bind(&i.private_ip)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(CoreError::not_found(Resource::Instance, i.id.to_string()));
        }
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
            "UPDATE instances SET name = $2, tags = $3, updated_at = $4
             WHERE id = $1 AND name = $5 AND tags = $6",
        )
        .bind(id.as_uuid())
        .bind(&new.name)
        .bind(tags_text(&new.tags))
        .bind(updated_at)
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
        sqlx::query("DELETE FROM instances WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
